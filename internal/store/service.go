package store

import (
	"context"
	"time"
)

// API is the Studio user store as its bearer-token clients see it. The
// SQL backend implements it, and so does the HTTP client, so everything written
// against API works in-process and over the wire alike.
//
// Contract, for every implementation:
//   - Every write is idempotent: asking for the state a record already has writes
//     nothing (no row, no audit entry) and reports Unchanged / Changed=false.
//   - Writes are atomic: the change, its audit entries and any outbox mail are
//     committed together or not at all.
//   - Ownership: a record keeps the Manager of its last managed write as managedBy.
//     A write whose Manager differs from a non-empty managedBy fails with
//     CodeManagedByOther; a write without Manager (a person in the Studio) is allowed
//     and keeps managedBy; a record without managedBy is adopted by the first manager
//     that writes it (audited user.adopted for users).
//   - Errors are *Error values with a stable Code; use IsCode, IsNotFound,
//     IsTransient. Keys are never reused across kinds.
type API interface {
	PutAgency(ctx context.Context, c Caller, key string, spec AgencySpec) (Agency, Outcome, error)
	GetAgency(ctx context.Context, key string) (Agency, error)
	// DeleteAgency fails with CodeHasDependents while environments exist.
	DeleteAgency(ctx context.Context, c Caller, key string) error

	// PutEnvironment fails with CodeUnknownReference when spec.Agency does not exist.
	PutEnvironment(ctx context.Context, c Caller, key string, spec EnvironmentSpec) (Environment, Outcome, error)
	GetEnvironment(ctx context.Context, key string) (Environment, error)
	// DeleteEnvironment deletes the environment and every grant scoped to it.
	DeleteEnvironment(ctx context.Context, c Caller, key string) error
	// ListEnvironments pages through environments by key, optionally only those of
	// one agency, each as GetEnvironment returns it. It is for resyncs: a client
	// compares all environments with a few requests instead of one read per record.
	ListEnvironments(ctx context.Context, f EnvironmentFilter) (EnvironmentPage, error)

	// PutUser creates or updates a user; a Removed user is created again. Email is
	// unique among users that are not removed (CodeEmailInUse). Suspending revokes
	// effective access but keeps grants, so lifting it restores them.
	PutUser(ctx context.Context, c Caller, key string, spec UserSpec) (User, Outcome, error)
	GetUser(ctx context.Context, key string) (User, error)
	// RemoveUser revokes all grants, withdraws a pending invitation and sets state
	// Removed; the record and its audit are kept. Removing a removed user is a no-op.
	RemoveUser(ctx context.Context, c Caller, key string) (User, error)
	// ListUsers pages through users by key. Removed users are included.
	ListUsers(ctx context.Context, f UserFilter) (UserPage, error)

	// PutGrants replaces the user's whole grant set atomically, auditing one
	// grant.added / grant.removed per scope and role that changed.
	PutGrants(ctx context.Context, c Caller, key string, grants []Grant) (GrantSet, error)
	// GetGrants returns the user's grant set (Changed is false).
	GetGrants(ctx context.Context, key string) (GrantSet, error)
	// ListGrants pages through the grant sets of all user records by user key, each
	// exactly as GetGrants returns it; users without grants and removed users are
	// listed with an empty set. Each page is read in one snapshot. It is for resyncs:
	// a client compares thousands of users' grants with a few requests instead of one
	// read per user.
	ListGrants(ctx context.Context, f GrantFilter) (GrantPage, error)
	// GetAccess returns the user's effective access (internal/cascade).
	GetAccess(ctx context.Context, key string) (Access, error)

	// SendInvitation sends or re-sends the user's invitation: a new link that
	// invalidates the previous one, an email through the outbox, audit
	// invitation.sent. The same non-empty idempotencyKey returns the same invitation
	// (with its link) and sends no second email.
	SendInvitation(ctx context.Context, c Caller, key, idempotencyKey string) (Invitation, error)
	// GetInvitation returns the latest invitation without its link (state NotSent when
	// there is none).
	GetInvitation(ctx context.Context, key string) (Invitation, error)
	// ListUndeliverable pages through the pending invitations (the latest of their
	// user, not expired) whose email was dead-lettered, by user key: the users the
	// store could not reach, for whom only a new invitation helps. A re-sent
	// invitation leaves the list until its own mail fails.
	ListUndeliverable(ctx context.Context, f UndeliverableFilter) (UndeliverablePage, error)

	// RecordActivity sets lastActiveAt (an Invited user becomes Active).
	RecordActivity(ctx context.Context, c Caller, key string) (User, error)

	ListAudit(ctx context.Context, f AuditFilter) (AuditPage, error)
	VerifyAudit(ctx context.Context) (AuditVerification, error)
}

// Service is the whole store as the HTTP server serves it: API plus the anonymous
// invitation-link endpoints and readiness.
type Service interface {
	API
	// LookupInvitation returns what the invitation page shows for a link token;
	// CodeInvitationGone when used, replaced, withdrawn or expired, CodeNotFound when
	// the token never existed.
	LookupInvitation(ctx context.Context, token string) (InvitationView, error)
	// AcceptInvitation accepts the invitation: the user becomes Active. The token
	// cannot be used again.
	AcceptInvitation(ctx context.Context, token string) (User, error)
	// Ping reports whether the database answers.
	Ping(ctx context.Context) error
}

// OutboxMessage is one email waiting in the transactional outbox.
type OutboxMessage struct {
	ID        int64
	MessageID string // stable RFC 5322 Message-ID, so a retried delivery is recognisable
	To        string
	Subject   string
	Text      string
	HTML      string
	Attempts  int
	CreatedAt time.Time
}

// Outbox is the mail queue a delivery worker drains. Messages are written by the
// Service in the same transaction as the invitation they announce.
type Outbox interface {
	// ClaimOutbox leases up to limit messages that are due at now and not leased by
	// another worker, for lease; a crashed worker's lease runs out and the message is
	// claimed again.
	ClaimOutbox(ctx context.Context, now time.Time, limit int, lease time.Duration) ([]OutboxMessage, error)
	// CompleteOutbox marks a message delivered and drops its body (it holds a link).
	// Completing a completed or failed message does nothing.
	CompleteOutbox(ctx context.Context, id int64, at time.Time) error
	// RetryOutbox records a failed attempt and when to try next. Retrying a
	// completed or failed message does nothing.
	RetryOutbox(ctx context.Context, id int64, next time.Time, reason string) error
	// FailOutbox marks a message failed for good (dead-lettered): it is never
	// claimed again. The row stays, with attempts+1 and the reason (addresses and
	// links redacted) as its last error, so that the failure can be looked into;
	// its recipient and bodies are dropped as by CompleteOutbox, because the body
	// holds a link. Failing a completed or failed message does nothing; an unknown
	// id is CodeNotFound.
	FailOutbox(ctx context.Context, id int64, at time.Time, reason string) error
	// ReleaseOutbox gives back claimed messages that were not attempted, so that
	// any worker may claim them at once instead of after the lease. Only messages
	// still held by that claim (claimed_until, the claim's now + lease) are
	// released: one whose lease ran out and was claimed again is left alone. It
	// returns how many were released.
	ReleaseOutbox(ctx context.Context, ids []int64, claimedUntil time.Time) (int, error)
}
