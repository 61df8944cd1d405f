package conformance

import (
	"slices"

	"github.com/studio-operator/studio-operator/internal/store"
)

// Spellings of one address: precomposed (NFC) and decomposed (NFD) "é", and the
// domain bücher.example in Unicode, in Punycode and in upper case.
const (
	emailNFC        = "jos\u00e9@example.com"
	emailNFD        = "jose\u0301@example.com"
	emailUnicode    = "bob@b\u00fccher.example"
	emailPunycode   = "bob@xn--bcher-kva.example"
	emailUpperFolds = "BOB@B\u00dcCHER.EXAMPLE"
)

var emailCases = []testCase{
	{"EmailIdentityIgnoresUnicodeFormAndDomainEncoding", func(h *harness) {
		nfc := h.user(operator, "jose", emailNFC)
		uni := h.user(operator, "bob", emailUnicode)
		for key, email := range map[string]string{
			"jose-nfd": emailNFD, "bob-puny": emailPunycode, "bob-upper": emailUpperFolds,
		} {
			if _, _, err := h.api.PutUser(h.ctx, operator, key, userSpec(email)); store.CodeOf(err) != store.CodeEmailInUse {
				h.t.Errorf("PutUser(%s) with another spelling of a live user's email: %v, want %s", key, err, store.CodeEmailInUse)
			}
		}
		// The address reads back as it was written.
		for key, want := range map[string]string{"jose": nfc.Email, "bob": uni.Email} {
			if u, err := h.api.GetUser(h.ctx, key); err != nil || u.Email != want {
				h.t.Errorf("GetUser(%s): email as written %v, %v", key, u.Email == want, err)
			}
		}
		// Any spelling finds the user.
		for email, want := range map[string]string{emailNFD: "jose", emailPunycode: "bob", emailUpperFolds: "bob"} {
			page, err := h.api.ListUsers(h.ctx, store.UserFilter{Email: email})
			keys := []string{}
			for _, u := range page.Items {
				keys = append(keys, u.Key)
			}
			if err != nil || !slices.Equal(keys, []string{want}) {
				h.t.Errorf("ListUsers by another spelling of %s's email = %v, %v", want, keys, err)
			}
		}
		// Changing to another spelling of the same address is the user's own address.
		if _, _, err := h.api.PutUser(h.ctx, operator, "bob", userSpec(emailPunycode)); err != nil {
			h.t.Errorf("respelling bob's own address: %v", err)
		}
	}},
	{"EmailNeedsADottedDomainName", func(h *harness) {
		for _, email := range []string{
			"a@b", "alice@localhost", "alice@example.", "alice@.example.com", "alice@example..com",
			"alice@exa_mple.com", "alice@-example.com", "alice@[192.0.2.1]", "alice@xn--zz.example",
		} {
			_, _, err := h.api.PutUser(h.ctx, operator, "alice", userSpec(email))
			if store.CodeOf(err) != store.CodeInvalid {
				h.t.Errorf("PutUser with email %q: %v, want %s", email, err, store.CodeInvalid)
				continue
			}
			expectError(h.t, err, store.CodeInvalid, "email")
		}
		if n := h.auditLen(); n != 0 {
			h.t.Fatalf("refused writes left %d audit entries", n)
		}
	}},
}
