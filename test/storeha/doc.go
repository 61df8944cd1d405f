// Package storeha proves that studio-store runs as several replicas on one PostgreSQL
// database.
//
// Its test starts a real PostgreSQL server (internal/store/pgtest), two real
// studio-store processes built from cmd/studio-store that share the database, the
// link key file and the tokens file, and a real SMTP server (go-smtp) that records
// every message it accepts. Clients send their requests to both replicas in turn. In
// the middle of mail delivery one replica is SIGKILLed right after the SMTP server
// accepted one of its mails and before it could record that, and while the answer to
// one of its invitations is on its way back. The test then checks that the survivor
// stayed ready, that the clients' retries (same Idempotency-Key) wrote nothing twice,
// that every user got the invitation mail under one Message-ID, that no grant write
// was lost and that the audit chain verifies.
//
// The store leases claimed mails for two minutes and no flag shortens that, so the
// test ends the killed replica's lease in the database instead of waiting for it.
//
// Everything listens on 127.0.0.1; invitation links, tokens and email addresses are
// never printed.
package storeha
