package sqlstore

import (
	"testing"

	"github.com/studio-operator/studio-operator/internal/store"
)

// A database written when the email identity was only the lower-cased address gets
// its identities recomputed at open, so older users are found under any spelling of
// their address. Two live users that turn out to share one address do not stop the
// store from opening.
func TestOlderEmailIdentitiesAreRecomputed(t *testing.T) {
	for name, newDSN := range backends {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			dsn := newDSN(t)
			s := openUntracked(t, dsn, Options{})
			for key, email := range map[string]string{
				"bob": "bob@b\u00fccher.example", "jose": "jose\u0301@example.com", "jose2": "jos\u00e9@example.org",
			} {
				if _, _, err := s.PutUser(bg, testCaller, key, store.UserSpec{Email: email}); err != nil {
					t.Fatal(err)
				}
			}
			// As the earlier rule wrote them; jose2's address becomes one with jose's.
			for _, stmt := range []string{
				"UPDATE users SET email_norm = LOWER(email)",
				"UPDATE users SET email = 'jos\u00e9@example.com', email_norm = 'jos\u00e9@example.com' WHERE key = 'jose2'",
				"DELETE FROM settings WHERE name = 'email_identity'",
			} {
				if _, err := s.writer.ExecContext(bg, stmt); err != nil {
					t.Fatalf("%s: %v", stmt, err)
				}
			}
			closeStore(t, s)

			s = openTest(t, dsn, Options{})
			_, _, err := s.PutUser(bg, testCaller, "bob2", store.UserSpec{Email: "bob@xn--bcher-kva.example"})
			expectStoreCode(t, err, store.CodeEmailInUse)
			page, err := s.ListUsers(bg, store.UserFilter{Email: "BOB@B\u00dcCHER.example"})
			if err != nil || len(page.Items) != 1 || page.Items[0].Key != "bob" {
				t.Errorf("ListUsers by another spelling of bob's address: %d users, %v", len(page.Items), err)
			}
			if n := count(t, s, "SELECT COUNT(*) FROM users WHERE email_norm = ?", "jos\u00e9@example.com"); n != 1 {
				t.Errorf("%d users have jose's identity, want exactly one", n)
			}
			if count(t, s, "SELECT COUNT(*) FROM settings WHERE name = 'email_identity'") != 1 {
				t.Error("the rule the identities follow is not recorded")
			}
		})
	}
}
