// Package ui serves the Studio's admin pages under /ui/ of studio-store: the users
// overview with a panel per user (details, effective access, invitation, audit log),
// the environment pages (who can do what, who is notified of new conversations) and
// the audit log with its chain check. Admins can invite a user, hand out a fresh
// invitation link and remove a user, for records no operator instance manages; for
// managed records the pages say where the truth lives and give the kubectl command.
//
// Pages are rendered on the server from embedded html/template files; the embedded
// script only copies text to the clipboard. Everything reads and writes through
// store.API, so the pages show exactly what the API serves.
//
// Sign-in takes a store token (reader: the pages; admin: also the actions) and keeps
// the session server-side, behind an HttpOnly, SameSite=Strict cookie. Every form
// carries a CSRF token; cross-origin writes are refused; failed sign-ins are
// rate-limited. Logs name routes by pattern only, so user keys, emails, search terms,
// tokens and session ids never reach them. See docs/ui.md.
package ui
