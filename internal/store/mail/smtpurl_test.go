package mail

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseSMTPURL(t *testing.T) {
	cases := map[string]struct {
		in      string
		want    smtpConfig
		wantErr string // substring of the problem; "" for success
	}{
		"plain, default port": {
			in:   "smtp://mail.example.com",
			want: smtpConfig{host: "mail.example.com", port: "25"},
		},
		"with credentials and port": {
			in:   "smtp://relay:s3cret@mail.example.com:587",
			want: smtpConfig{host: "mail.example.com", port: "587", username: "relay", password: "s3cret"},
		},
		"escaped password": {
			in:   "smtp://relay:p%40ss%2Fw@mail.example.com",
			want: smtpConfig{host: "mail.example.com", port: "25", username: "relay", password: "p@ss/w"},
		},
		"smtps, default port": {
			in:   "smtps://mail.example.com",
			want: smtpConfig{host: "mail.example.com", port: "465", implicitTLS: true},
		},
		"ipv6 and trailing slash": {
			in:   "smtp://[::1]:2525/",
			want: smtpConfig{host: "::1", port: "2525"},
		},
		"insecure skip verify": {
			in:   "smtps://127.0.0.1:4650?insecure-skip-verify=true",
			want: smtpConfig{host: "127.0.0.1", port: "4650", implicitTLS: true, insecureSkipVerify: true},
		},
		"bad scheme":         {in: "http://mail.example.com", wantErr: "scheme must be smtp or smtps"},
		"no scheme":          {in: "mail.example.com:25", wantErr: "scheme must be smtp or smtps"},
		"no host":            {in: "smtp://:25", wantErr: "host is missing"},
		"bad port":           {in: "smtp://mail.example.com:0", wantErr: "port must be"},
		"path":               {in: "smtp://mail.example.com/inbox", wantErr: "path"},
		"user only":          {in: "smtp://relay@mail.example.com", wantErr: "user and a password"},
		"unknown parameter":  {in: "smtp://mail.example.com?tls=yes", wantErr: `unknown query parameter "tls"`},
		"bad boolean":        {in: "smtp://mail.example.com?insecure-skip-verify=maybe", wantErr: "true or false"},
		"unparseable secret": {in: "smtp://relay:hunter2@mail.example.com:x y", wantErr: "cannot parse"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got, err := parseSMTPURL(tc.in)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("parseSMTPURL: %v", err)
				}
				if diff := cmp.Diff(tc.want, got, cmp.AllowUnexported(smtpConfig{})); diff != "" {
					t.Errorf("(-want +got):\n%s", diff)
				}
				return
			}
			if err == nil {
				t.Fatalf("parseSMTPURL accepted %q", tc.in)
			}
			msg := err.Error()
			for _, want := range []string{"--smtp-url", tc.wantErr, "smtp://[user[:pass]@]host[:port]"} {
				if !strings.Contains(msg, want) {
					t.Errorf("error %q lacks %q", msg, want)
				}
			}
			for _, secret := range []string{"hunter2", "s3cret"} {
				if strings.Contains(msg, secret) {
					t.Errorf("error %q echoes the password", msg)
				}
			}
		})
	}
}

func TestIsLoopback(t *testing.T) {
	cases := map[string]struct {
		host string
		want bool
	}{
		"localhost":   {host: "localhost", want: true},
		"ipv4":        {host: "127.0.0.1", want: true},
		"ipv4 range":  {host: "127.1.2.3", want: true},
		"ipv6":        {host: "::1", want: true},
		"remote name": {host: "mail.example.com", want: false},
		"remote ip":   {host: "192.0.2.1", want: false},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if got := isLoopback(tc.host); got != tc.want {
				t.Errorf("isLoopback(%q) = %v, want %v", tc.host, got, tc.want)
			}
		})
	}
}

func TestCredentialsSafe(t *testing.T) {
	cases := map[string]struct {
		secure bool
		host   string
		want   bool
	}{
		"tls to a remote host":        {secure: true, host: "mail.example.com", want: true},
		"plain text to a remote host": {secure: false, host: "mail.example.com", want: false},
		"plain text to loopback":      {secure: false, host: "127.0.0.1", want: true},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if got := credentialsSafe(tc.secure, tc.host); got != tc.want {
				t.Errorf("credentialsSafe(%v, %q) = %v, want %v", tc.secure, tc.host, got, tc.want)
			}
		})
	}
}

func TestOffers(t *testing.T) {
	reply := "mail.example.com greets you\nPIPELINING\nSTARTTLS\nAUTH PLAIN LOGIN"
	cases := map[string]struct {
		reply, ext string
		want       bool
	}{
		"offered":               {reply: reply, ext: "STARTTLS", want: true},
		"case insensitive":      {reply: reply, ext: "starttls", want: true},
		"with parameters":       {reply: reply, ext: "AUTH", want: true},
		"not offered":           {reply: reply, ext: "SMTPUTF8", want: false},
		"greeting is not a cap": {reply: "STARTTLS ready\nPIPELINING", ext: "STARTTLS", want: false},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if got := offers(tc.reply, tc.ext); got != tc.want {
				t.Errorf("offers(%q) = %v, want %v", tc.ext, got, tc.want)
			}
		})
	}
}
