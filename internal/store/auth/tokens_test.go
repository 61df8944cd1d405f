package auth

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParse(t *testing.T) {
	adminHash := HashToken("s3cret-admin")
	readerHash := HashToken("s3cret-reader")
	cases := map[string]struct {
		file    string
		wantErr string // substring; "" means success
		wantLen int
	}{
		"comments and blank lines": {
			file:    "# tokens\n\nadmin ops " + adminHash + "  # the operator\n   \nreader grafana " + readerHash + "\n",
			wantLen: 2,
		},
		"empty file": {file: "", wantLen: 0},
		"upper-case hex": {
			file:    "admin ops sha256:" + strings.ToUpper(strings.TrimPrefix(adminHash, "sha256:")) + "\n",
			wantLen: 1,
		},
		"unknown role": {
			file:    "# x\nowner ops " + adminHash + "\n",
			wantErr: `tokens.txt:2: unknown role "owner"`,
		},
		"missing digest": {
			file:    "admin ops\n",
			wantErr: "tokens.txt:1: want",
		},
		"too many fields": {
			file:    "admin ops extra " + adminHash + "\n",
			wantErr: "tokens.txt:1: want",
		},
		"plain token instead of digest": {
			file:    "\n\nadmin ops s3cret-admin\n",
			wantErr: "tokens.txt:3: token digest",
		},
		"short digest": {
			file:    "admin ops sha256:abcd\n",
			wantErr: "tokens.txt:1: token digest",
		},
		"not hex": {
			file:    "admin ops sha256:" + strings.Repeat("zz", 32) + "\n",
			wantErr: "tokens.txt:1: token digest",
		},
		"subject too long": {
			file:    "admin " + strings.Repeat("a", 129) + " " + adminHash + "\n",
			wantErr: "tokens.txt:1: subject",
		},
		"duplicate digest": {
			file:    "admin ops " + adminHash + "\nreader other " + adminHash + "\n",
			wantErr: "tokens.txt:2: the same token digest is already listed on line 1",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got, err := Parse(strings.NewReader(tc.file), "tokens.txt")
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Parse error = %v, want it to contain %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if got.Len() != tc.wantLen {
				t.Errorf("Len = %d, want %d", got.Len(), tc.wantLen)
			}
		})
	}
}

func TestParseErrorsNeverEchoTheLine(t *testing.T) {
	// A person may paste the plain token by mistake: the error must not repeat it.
	_, err := Parse(strings.NewReader("admin ops my-plain-secret-token\n"), "f")
	if err == nil || strings.Contains(err.Error(), "my-plain-secret-token") {
		t.Fatalf("error %v must exist and not contain the token", err)
	}
}

func TestAuthenticate(t *testing.T) {
	file := "admin ops " + HashToken("tok-admin") + "\nreader grafana " + HashToken("tok-reader") + "\n"
	tokens, err := Parse(strings.NewReader(file), "f")
	if err != nil {
		t.Fatal(err)
	}
	if err := tokens.Add(RoleAdmin, AdminSubject, "tok-env"); err != nil {
		t.Fatal(err)
	}
	cases := map[string]struct {
		token     string
		want      Principal
		wantOK    bool
		wantWrite bool
	}{
		"admin from file":    {token: "tok-admin", want: Principal{Subject: "ops", Role: RoleAdmin}, wantOK: true, wantWrite: true},
		"reader from file":   {token: "tok-reader", want: Principal{Subject: "grafana", Role: RoleReader}, wantOK: true},
		"admin from env":     {token: "tok-env", want: Principal{Subject: "admin", Role: RoleAdmin}, wantOK: true, wantWrite: true},
		"unknown":            {token: "tok-nope"},
		"empty":              {token: ""},
		"prefix of a token":  {token: "tok-admi"},
		"digest is no token": {token: HashToken("tok-admin")},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got, ok := tokens.Authenticate(tc.token)
			if ok != tc.wantOK {
				t.Fatalf("ok = %v, want %v", ok, tc.wantOK)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("principal (-want +got):\n%s", diff)
			}
			if got.CanWrite() != tc.wantWrite {
				t.Errorf("CanWrite = %v, want %v", got.CanWrite(), tc.wantWrite)
			}
		})
	}
}

func TestAddRejects(t *testing.T) {
	cases := map[string]struct {
		role    Role
		subject string
		token   string
	}{
		"empty token":       {role: RoleAdmin, subject: "admin", token: ""},
		"token with space":  {role: RoleAdmin, subject: "admin", token: "a b"},
		"token with NUL":    {role: RoleAdmin, subject: "admin", token: "a\x00b"},
		"unknown role":      {role: "root", subject: "admin", token: "t"},
		"empty subject":     {role: RoleAdmin, subject: "", token: "t"},
		"subject with tab":  {role: RoleAdmin, subject: "a\tb", token: "t"},
		"duplicate of file": {role: RoleReader, subject: "x", token: "dup"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			tokens := &Tokens{}
			if err := tokens.Add(RoleAdmin, "first", "dup"); err != nil {
				t.Fatal(err)
			}
			if err := tokens.Add(tc.role, tc.subject, tc.token); err == nil {
				t.Fatal("Add accepted a bad token")
			}
			if tokens.Len() != 1 {
				t.Errorf("Len = %d after a refused Add", tokens.Len())
			}
		})
	}
}

func TestNilTokensAuthenticateNothing(t *testing.T) {
	var tokens *Tokens
	if _, ok := tokens.Authenticate("x"); ok {
		t.Fatal("nil Tokens authenticated a token")
	}
}

func TestLoadFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tokens")
	if err := os.WriteFile(path, []byte("reader r "+HashToken("t")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tokens, err := LoadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if p, ok := tokens.Authenticate("t"); !ok || p.Role != RoleReader {
		t.Fatalf("Authenticate = %v, %v", p, ok)
	}
	if _, err := LoadFile(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Fatal("LoadFile of a missing file succeeded")
	}
}

func TestHashTokenFormat(t *testing.T) {
	// echo -n abc | sha256sum
	want := "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
	if got := HashToken("abc"); got != want {
		t.Fatalf("HashToken = %s, want %s", got, want)
	}
}
