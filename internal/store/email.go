package store

import (
	"errors"
	"net/mail"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/idna"
	"golang.org/x/text/unicode/norm"
)

// Limits of an email address (RFC 5321 §4.5.3.1): 64 octets of local part, 254 of
// address, 253 of domain name in its ASCII form.
const (
	maxEmailLength  = 254
	maxLocalLength  = 64
	maxDomainLength = 253
)

// ErrBadEmail is the error of ParseEmail: the text is not a bare address with a
// dotted domain name.
var ErrBadEmail = errors.New("not a plain email address with a domain name such as name@example.com")

// domainProfile validates and maps domain names as they are looked up (RFC 5891 §5,
// UTS #46 non-transitional): case and width folded, letters, digits and hyphens only,
// label and name lengths checked. Punycode labels (xn--) are decoded and validated
// too, so a name reaches one ASCII form however it was written.
var domainProfile = idna.New(
	idna.MapForLookup(),
	idna.BidiRule(),
	idna.StrictDomainName(true),
	idna.VerifyDNSLength(true),
	idna.Transitional(false),
)

// Email is a parsed user email address.
type Email struct {
	// Local is the part before the @, in Unicode NFC, with its case as written.
	Local string
	// Domain is the domain name in ASCII (A-labels, RFC 5890), lower case.
	Domain string
}

// ParseEmail parses a user's email: a bare address (no display name, comment or
// angle brackets) of at most 254 bytes whose domain is a dotted domain name, written
// in Unicode or in Punycode. It fails with ErrBadEmail.
func ParseEmail(s string) (Email, error) {
	if len(s) > maxEmailLength {
		return Email{}, ErrBadEmail
	}
	e, err := ParseAddress(s)
	if err != nil || len(e.Local) > maxLocalLength || !dotted(e.Domain) {
		return Email{}, ErrBadEmail
	}
	return e, nil
}

// ParseAddress parses a bare address whose domain is a valid domain name, dotted or
// not (a sender such as studio@localhost). It fails with ErrBadEmail.
func ParseAddress(s string) (Email, error) {
	if s == "" || !utf8.ValidString(s) ||
		strings.ContainsFunc(s, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) {
		return Email{}, ErrBadEmail
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Name != "" || a.Address != s {
		return Email{}, ErrBadEmail
	}
	at := strings.LastIndexByte(s, '@')
	if at <= 0 {
		return Email{}, ErrBadEmail
	}
	domain, err := domainProfile.ToASCII(s[at+1:])
	if err != nil || len(domain) > maxDomainLength {
		return Email{}, ErrBadEmail
	}
	return Email{Local: norm.NFC.String(s[:at]), Domain: domain}, nil
}

// dotted reports whether domain has at least two labels, none of them empty (a name
// such as "localhost" or "b" reaches no one outside this machine).
func dotted(domain string) bool {
	labels := strings.Split(domain, ".")
	return len(labels) >= 2 && !strings.Contains(domain, "..") && labels[0] != "" && labels[len(labels)-1] != ""
}

// Identity is what makes two addresses the same person's, the form email uniqueness
// compares: the local part in NFC and lower case, the domain in its ASCII form. So
// "José@Bücher.example", its decomposed (NFD) spelling and "josé@xn--bcher-kva.example"
// are one identity.
func (e Email) Identity() string { return strings.ToLower(e.Local) + "@" + e.Domain }

// String is the address to deliver to: the NFC local part and the ASCII domain. It is
// ASCII unless the local part is not, which needs SMTPUTF8 (RFC 6531) and UTF-8
// headers (RFC 6532).
func (e Email) String() string { return e.Local + "@" + e.Domain }

// EmailIdentity is the identity of s when it is a valid address, else s in NFC and
// lower case (what a search for an address that no user can have compares).
func EmailIdentity(s string) string {
	if e, err := ParseEmail(s); err == nil {
		return e.Identity()
	}
	return strings.ToLower(norm.NFC.String(s))
}
