// Package sqlstore is the Studio user store (store.Service and store.Outbox) on
// database/sql: SQLite through modernc.org/sqlite (the embedded default, WAL) and
// PostgreSQL through pgx, with goose migrations embedded per dialect.
//
// Every write runs in one transaction that also appends its audit entries (SHA-256
// hash chain, gap-free seq) and, for invitations, the outbox mail; a write that would
// change nothing writes nothing. Writes that arrive together share a transaction
// (group commit, batch.go): each sees the ones before it, a refused write drops out
// alone, and one commit pays for all. Concurrency:
//
//   - SQLite has one writer connection and BEGIN IMMEDIATE, so writers queue in the
//     process and wait (busy_timeout) across processes instead of failing; readers use
//     their own read-only connections and never block the writer (WAL).
//   - PostgreSQL locks the record being changed (SELECT ... FOR UPDATE) before reading
//     it, so concurrent writers never lose an update, also across store processes, and
//     appending to the audit log locks the chain head last, for as short as possible.
//     Users are locked before the agencies and environments their grants name, in key
//     order (grants.go, "Lock order"), so a grant-set write and a scope's deletion never
//     deadlock.
//     Serialization failures and deadlocks are retried. A batch of grant-set writes is
//     pipelined through pgx (grants_pipeline.go): two round trips for the batch
//     instead of three per write, with the same locks in the same order.
//
// Times are stored as Unix microseconds in both dialects so that they compare and hash
// identically. Secrets never reach the database in clear: invitation tokens are
// derived from the invitation ID with an HMAC key and only their SHA-256 is stored;
// the key itself lives outside the database (linkkey.go), and SQLite's files are
// private to the store's user (sqlite_files.go).
package sqlstore
