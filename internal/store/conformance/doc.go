// Package conformance is the behavioural test suite of the Studio user store: every rule
// of the HTTP API (internal/store/httpapi/openapi.yaml) and internal/store's contract, written against store.API only, so the
// same suite runs on the SQL backend directly (SQLite and PostgreSQL) and through the
// HTTP server and Go client.
//
//	func TestStore(t *testing.T) {
//		conformance.Run(t, func(t *testing.T, cfg conformance.Config) store.API {
//			s, err := sqlstore.Open(ctx, dsn, sqlstore.Options{Clock: cfg.Clock, ...})
//			...
//			t.Cleanup(func() { s.Close() })
//			return s
//		})
//	}
//
// The suite owns the clock (Config.Clock): it moves time forward to expire invitations
// and checks timestamps against it. Every case gets a fresh, empty store.
//
// The cases about mail delivery also work the store's outbox as the mail worker does,
// so the store.API a Factory returns must implement store.Outbox too: the SQL store
// does, and a wrapper around a client (the HTTP variant) adds the outbox of the store
// it serves.
package conformance
