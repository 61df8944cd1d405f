// Package store is the domain of the Studio user store, the system of record the
// operator reconciles into: its records, the Service interface that every
// backend implements, and typed errors.
//
// Subpackages:
//
//   - sql: the Service on SQLite (embedded default) and PostgreSQL, with migrations,
//     audit hash chain and the transactional mail outbox.
//   - httpapi: the JSON-over-HTTP server (/api/v1, /openapi.yaml, /invite/...).
//   - client: the typed Go client of that API; it implements API, so the operator and
//     the tests use the store the same way, in-process or over HTTP.
//   - mail: rendering and delivery of the outbox (SMTP or .eml files).
package store
