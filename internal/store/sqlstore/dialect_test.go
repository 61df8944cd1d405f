package sqlstore

import "testing"

func TestRebind(t *testing.T) {
	for name, tc := range map[string]struct{ in, want string }{
		"none":  {"SELECT 1", "SELECT 1"},
		"some":  {"SELECT a FROM t WHERE b = ? AND c IN (?, ?)", "SELECT a FROM t WHERE b = $1 AND c IN ($2, $3)"},
		"many":  {placeholders(2, 6), "($1, $2, $3, $4, $5, $6), ($7, $8, $9, $10, $11, $12)"},
		"empty": {"", ""},
	} {
		t.Run(name, func(t *testing.T) {
			if got := rebind(tc.in); got != tc.want {
				t.Fatalf("rebind(%q) = %q, want %q", tc.in, got, tc.want)
			}
			if got := postgresDialect.q(tc.in); got != tc.want {
				t.Fatalf("postgres q = %q, want %q", got, tc.want)
			}
			if got := sqliteDialect.q(tc.in); got != tc.in {
				t.Fatalf("sqlite q changed the query to %q", got)
			}
		})
	}
}
