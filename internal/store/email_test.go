package store

import (
	"errors"
	"strings"
	"testing"
)

func TestParseEmail(t *testing.T) {
	for in, want := range map[string]struct {
		identity, delivery string
	}{
		"alice@example.com":               {"alice@example.com", "alice@example.com"},
		"Alice@Example.COM":               {"alice@example.com", "Alice@example.com"},
		"jos\u00e9@example.com":           {"jos\u00e9@example.com", "jos\u00e9@example.com"},
		"jose\u0301@example.com":          {"jos\u00e9@example.com", "jos\u00e9@example.com"},
		"Jos\u00e9@B\u00fccher.Example":   {"jos\u00e9@xn--bcher-kva.example", "Jos\u00e9@xn--bcher-kva.example"},
		"bob@xn--bcher-kva.example":       {"bob@xn--bcher-kva.example", "bob@xn--bcher-kva.example"},
		"bob@\uff42\u00fccher.example":    {"bob@xn--bcher-kva.example", "bob@xn--bcher-kva.example"}, // fullwidth b
		"a.b+tag@sub.example.io":          {"a.b+tag@sub.example.io", "a.b+tag@sub.example.io"},
		strings.Repeat("a", 64) + "@x.co": {strings.Repeat("a", 64) + "@x.co", strings.Repeat("a", 64) + "@x.co"},
	} {
		e, err := ParseEmail(in)
		if err != nil || e.Identity() != want.identity || e.String() != want.delivery {
			t.Errorf("ParseEmail(%q) = identity %q, delivery %q, %v; want %q, %q", in, e.Identity(), e.String(), err, want.identity, want.delivery)
		}
	}
	for _, in := range []string{
		"", "alice", "alice@", "@example.com", "a@b", "alice@localhost", "alice@example.", "alice@.example",
		"alice@example..com", "alice@exa_mple.com", "alice@-x.example", "alice@[192.0.2.1]", "alice@xn--zz.example",
		"Alice <alice@example.com>", "alice @example.com", "alice@example.com\n", "alice@\u00e9\u0000.example",
		strings.Repeat("a", 65) + "@x.co", strings.Repeat("a", 60) + "@" + strings.Repeat("b", 200) + ".com",
	} {
		if _, err := ParseEmail(in); !errors.Is(err, ErrBadEmail) {
			t.Errorf("ParseEmail(%q) = %v, want ErrBadEmail", in, err)
		}
	}
}

func TestParseAddressAllowsASingleLabel(t *testing.T) {
	if e, err := ParseAddress("studio@localhost"); err != nil || e.String() != "studio@localhost" {
		t.Errorf("ParseAddress(studio@localhost) = %q, %v", e.String(), err)
	}
}

func TestEmailIdentityOfNoAddress(t *testing.T) {
	if got := EmailIdentity("Jose\u0301@B"); got != "jos\u00e9@b" {
		t.Errorf("EmailIdentity of an invalid address = %q, want NFC lower case", got)
	}
}
