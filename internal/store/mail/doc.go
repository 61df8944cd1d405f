// Package mail renders the Studio's invitation emails and delivers the store's
// transactional outbox.
//
// The pieces, from pure to I/O:
//
//   - RenderInvitation (render.go, locale.go) turns an invitation into a subject, a
//     plain-text body and an accessible HTML alternative, in English or Dutch.
//   - Compose (compose.go) turns an outbox message into RFC 5322 bytes: MIME
//     multipart/alternative, quoted-printable, CRLF, the message's stable Message-ID.
//   - Sender (sender.go) delivers those bytes: over SMTP (smtp.go; STARTTLS when
//     offered, AUTH PLAIN only over TLS or loopback) or, without --smtp-url, as .eml
//     files in --mail-dir (dir.go).
//   - Worker (worker.go) drains the outbox: claim, compose, send, complete; failures
//     are classified (classify.go), retried with exponential backoff and jitter
//     (backoff.go) and, when they cannot succeed, dead-lettered (FailOutbox): the
//     row is marked failed and never claimed again, it keeps its attempts and last
//     error, and its recipient and bodies (the link) are dropped. Metrics
//     (metrics.go) are Prometheus collectors the caller registers.
//
// Privacy: invitation links are secrets and addresses are personal data. Neither is
// ever logged, put in an error kept by the outbox, or exported as a metric label; the
// worker logs the outbox id, the attempt and the error class only.
package mail
