package sqlstore

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/studio-operator/studio-operator/internal/cascade"
	"github.com/studio-operator/studio-operator/internal/store"
)

func TestValidEmail(t *testing.T) {
	for email, want := range map[string]bool{
		"alice@example.com":          true,
		"alice.b+tag@sub.example.io": true,
		"":                           false,
		"alice":                      false,
		"alice@":                     false,
		"@example.com":               false,
		"Alice <alice@example.com>":  false,
		"<alice@example.com>":        false,
		"alice @example.com":         false,
		"alice@example.com\n":        false,
		strings.Repeat("a", 250) + "@example.com": false,
		"a@b":                           false,
		"alice@localhost":               false,
		"jos\u00e9@b\u00fccher.example": true,
		"bob@xn--bcher-kva.example":     true,
	} {
		if got := validEmail(email); got != want {
			t.Errorf("validEmail(%q) = %v, want %v", email, got, want)
		}
	}
}

func TestValidateKey(t *testing.T) {
	for key, wantErr := range map[string]bool{
		"acme": false, "team-a.prod": false, "": true, "a/b": true, "a b": true, "a\tb": true,
		strings.Repeat("k", 253): false, strings.Repeat("k", 254): true,
	} {
		err := validateKey("key", key)
		if (err != nil) != wantErr {
			t.Errorf("validateKey(%q) = %v, want error %v", key, err, wantErr)
		}
		if err != nil {
			expectCode(t, err, store.CodeInvalid, "key")
		}
	}
}

func TestNormalizeGrants(t *testing.T) {
	got, err := normalizeGrants([]store.Grant{
		{Scope: store.Scope{Environment: "b.prod"}, Roles: []cascade.Role{cascade.Operator, cascade.Agent}},
		{Scope: store.Scope{Environment: "a.prod"}},
		{Scope: store.Scope{Agency: "zeta"}, Roles: []cascade.Role{cascade.Planner}},
		{Scope: store.Scope{Agency: "acme"}, Roles: []cascade.Role{cascade.Producer, cascade.Analyst}},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []desiredGrant{
		{Grant: store.Grant{Scope: store.Scope{Agency: "acme"}, Roles: []cascade.Role{cascade.Analyst, cascade.Producer}}, index: 3},
		{Grant: store.Grant{Scope: store.Scope{Agency: "zeta"}, Roles: []cascade.Role{cascade.Planner}}, index: 2},
		{Grant: store.Grant{Scope: store.Scope{Environment: "a.prod"}, Roles: []cascade.Role{}}, index: 1},
		{Grant: store.Grant{Scope: store.Scope{Environment: "b.prod"}, Roles: []cascade.Role{cascade.Agent, cascade.Operator}}, index: 0},
	}
	if d := cmp.Diff(want, got, cmp.AllowUnexported(desiredGrant{})); d != "" {
		t.Fatalf("normalized (-want +got):\n%s", d)
	}
}

func TestNormalizeGrantsRefusals(t *testing.T) {
	agent := []cascade.Role{cascade.Agent}
	for name, tc := range map[string]struct {
		grants []store.Grant
		field  string
	}{
		"bad scope key":   {[]store.Grant{{Scope: store.Scope{Agency: "a/b"}, Roles: agent}}, "grants[0].scope.agency"},
		"bad env key":     {[]store.Grant{{Scope: store.Scope{Environment: " "}, Roles: agent}}, "grants[0].scope.environment"},
		"no scope":        {[]store.Grant{{Roles: agent}}, "grants[0].scope"},
		"both scopes":     {[]store.Grant{{Scope: store.Scope{Agency: "a", Environment: "e"}, Roles: agent}}, "grants[0].scope"},
		"empty at agency": {[]store.Grant{{Scope: store.Scope{Agency: "a"}}}, "grants[0].roles"},
		"Supervisor":      {[]store.Grant{{Scope: store.Scope{Agency: "a"}, Roles: []cascade.Role{cascade.Supervisor}}}, "grants[0].roles[0]"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := normalizeGrants(tc.grants)
			expectCode(t, err, store.CodeInvalid, tc.field)
		})
	}
}

func TestNormalizeUserSpec(t *testing.T) {
	got, err := normalizeUserSpec(store.UserSpec{Email: "a@example.com", Locale: "en-GB"})
	if err != nil || got.Type != cascade.UserTypeUser {
		t.Fatalf("normalizeUserSpec = %+v, %v; want type User", got, err)
	}
}

// expectCode fails unless err is a store error with code and field.
func expectCode(t *testing.T, err error, code store.Code, field string) {
	t.Helper()
	se, ok := err.(*store.Error)
	if !ok || se.Code != code || se.Field != field {
		t.Fatalf("error %v, want %s on %q", err, code, field)
	}
}
