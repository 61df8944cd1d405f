package store

import (
	"time"

	"github.com/studio-operator/studio-operator/internal/cascade"
)

// Caller says who makes a write and on whose behalf; it is recorded in the audit log
// and decides ownership (managedBy).
type Caller struct {
	// Actor is the subject of the bearer token. The server sets it; a client cannot
	// claim one.
	Actor string
	// Manager is the X-Studio-Manager header: the operator instance that manages the
	// record. Empty means a person working in the Studio itself.
	Manager string
	// OnBehalfOf is the X-Studio-On-Behalf-Of header, e.g. "argocd:<app>".
	OnBehalfOf string
	// Source is the X-Studio-Source header: "<Kind>/<ns>/<name>@<generation>".
	Source string
}

// Outcome says what a Put did.
type Outcome string

const (
	// Created: the record did not exist (or was removed) and now does.
	Created Outcome = "created"
	// Updated: the record changed.
	Updated Outcome = "updated"
	// Unchanged: the request asked for the state the record already had; nothing was
	// written, not even an audit entry.
	Unchanged Outcome = "unchanged"
)

// AgencySpec is the writable part of an agency.
type AgencySpec struct {
	DisplayName string `json:"displayName"`
}

// Agency is a customer account. Key is the Agency object's name.
type Agency struct {
	Key         string    `json:"key"`
	DisplayName string    `json:"displayName"`
	ManagedBy   string    `json:"managedBy"`
	CreatedAt   time.Time `json:"createdAt"`
	UpdatedAt   time.Time `json:"updatedAt"`
}

// EnvironmentSpec is the writable part of an environment.
type EnvironmentSpec struct {
	Agency      string `json:"agency"`
	DisplayName string `json:"displayName"`
}

// Environment is one bot/workspace of an agency. Key is "<namespace>.<name>".
type Environment struct {
	Key         string    `json:"key"`
	Agency      string    `json:"agency"`
	DisplayName string    `json:"displayName"`
	ManagedBy   string    `json:"managedBy"`
	CreatedAt   time.Time `json:"createdAt"`
	UpdatedAt   time.Time `json:"updatedAt"`
}

// EnvironmentFilter selects environments in ListEnvironments.
type EnvironmentFilter struct {
	// Agency, if set, selects only that agency's environments.
	Agency string
	// Limit is the page size: 0 means the default (100); at most 1000.
	Limit int
	// Cursor is the Next of the previous page.
	Cursor string
}

// EnvironmentPage is one page of environments, ordered by key.
type EnvironmentPage struct {
	Items []Environment `json:"items"`
	// Next is the cursor of the following page; nil on the last page.
	Next *string `json:"next"`
}

// UserState is a user's state in the Studio.
type UserState string

const (
	// UserInvited: created, not yet signed in.
	UserInvited UserState = "Invited"
	// UserActive: accepted an invitation or was active.
	UserActive UserState = "Active"
	// UserSuspended: kept, but with no access.
	UserSuspended UserState = "Suspended"
	// UserRemoved: all access revoked; record and audit kept.
	UserRemoved UserState = "Removed"
)

// UserSpec is the writable part of a user.
type UserSpec struct {
	Email       string           `json:"email"`
	DisplayName string           `json:"displayName"`
	Type        cascade.UserType `json:"type"`
	Locale      string           `json:"locale"`
	Suspended   bool             `json:"suspended"`
}

// User is a person with access to the Studio. Key is the StudioUser object's name.
type User struct {
	Key          string           `json:"key"`
	Email        string           `json:"email"`
	DisplayName  string           `json:"displayName"`
	Type         cascade.UserType `json:"type"`
	Locale       string           `json:"locale"`
	Suspended    bool             `json:"suspended"`
	State        UserState        `json:"state"`
	CreatedAt    time.Time        `json:"createdAt"`
	LastActiveAt *time.Time       `json:"lastActiveAt"`
	ManagedBy    string           `json:"managedBy"`
}

// Spec returns the writable part of u.
func (u User) Spec() UserSpec {
	return UserSpec{Email: u.Email, DisplayName: u.DisplayName, Type: u.Type, Locale: u.Locale, Suspended: u.Suspended}
}

// UserFilter selects users in ListUsers. Agency and Environment select users with a
// grant there (for Agency: at agency scope or on one of its environments).
type UserFilter struct {
	Email       string
	Agency      string
	Environment string
	// Order is the listing's order ("" is OrderByKey); users that tie are ordered by
	// key. Desc reverses it.
	Order UserOrder
	Desc  bool
	// Limit is the page size: 0 means the default (100); at most 1000.
	Limit int
	// Cursor is the Next of the previous page, of the same filter and order.
	Cursor string
}

// UserOrder is the order of a user listing.
type UserOrder string

const (
	OrderByKey   UserOrder = "key"
	OrderByEmail UserOrder = "email"
	// OrderByCreated is by creation time.
	OrderByCreated UserOrder = "created"
	// OrderByLastActive is by last activity; users never active come first (last
	// with Desc).
	OrderByLastActive UserOrder = "lastActive"
)

// UserPage is one page of users, in the filter's order (by key unless it says).
type UserPage struct {
	Items []User `json:"items"`
	// Next is the cursor of the following page; nil on the last page.
	Next *string `json:"next"`
}

// Scope is where a grant applies: exactly one of Agency or Environment (a key).
type Scope struct {
	Agency      string `json:"agency,omitempty"`
	Environment string `json:"environment,omitempty"`
}

// Grant gives roles at a scope. At environment scope an empty Roles blocks the roles
// inherited from the agency.
type Grant struct {
	Scope Scope          `json:"scope"`
	Roles []cascade.Role `json:"roles"`
}

// GrantSet is a user's whole set of grants, sorted by scope (agencies first, then
// environments, each by key) with sorted roles.
type GrantSet struct {
	Grants []Grant `json:"grants"`
	// Changed is true when a PutGrants changed anything.
	Changed bool `json:"changed"`
}

// GrantFilter selects the page of ListGrants.
type GrantFilter struct {
	// Limit is the page size in users: 0 means the default (100); at most 1000.
	Limit int
	// Cursor is the Next of the previous page.
	Cursor string
}

// UserGrants is one user's whole grant set, as GetGrants returns it: sorted by scope
// with sorted roles; empty (never nil) for a user without grants or a removed user.
type UserGrants struct {
	User   string  `json:"user"`
	Grants []Grant `json:"grants"`
}

// GrantPage is one page of grant sets, one per user record, ordered by user key.
type GrantPage struct {
	Items []UserGrants `json:"items"`
	// Next is the cursor of the following page; nil on the last page.
	Next *string `json:"next"`
}

// EnvironmentAccess is a user's effective access to one environment (the impersonate
// view), as internal/cascade computes it.
type EnvironmentAccess struct {
	Environment  string               `json:"environment"`
	Agency       string               `json:"agency"`
	Roles        []cascade.Role       `json:"roles"`
	Source       cascade.Source       `json:"source"`
	Capabilities []cascade.Capability `json:"capabilities"`
	Notify       bool                 `json:"notify"`
}

// Access is a user's effective access, sorted by environment.
type Access struct {
	Environments []EnvironmentAccess `json:"environments"`
}

// InvitationState is the state of a user's latest invitation.
type InvitationState string

const (
	InvitationNotSent   InvitationState = "NotSent"
	InvitationPending   InvitationState = "Pending"
	InvitationAccepted  InvitationState = "Accepted"
	InvitationExpired   InvitationState = "Expired"
	InvitationWithdrawn InvitationState = "Withdrawn"
)

// Invitation is a user's latest invitation. Link is set only in the answer to
// SendInvitation (and its idempotent replays); it is a secret.
type Invitation struct {
	State     InvitationState `json:"state"`
	Link      string          `json:"link,omitempty"`
	SentAt    *time.Time      `json:"sentAt"`
	ExpiresAt *time.Time      `json:"expiresAt"`
	SendCount int             `json:"sendCount"`
	// Delivery is how the invitation's email fared; nil when no invitation was sent,
	// or for an invitation whose mail the store cannot tell (sent by an older store).
	Delivery *InvitationDelivery `json:"delivery,omitempty"`
}

// DeliveryState is where an invitation's email is on its way to the user.
type DeliveryState string

const (
	// DeliveryQueued: not delivered yet; it may have failed and be waiting for a retry.
	DeliveryQueued DeliveryState = "Queued"
	// DeliveryDelivered: the mail server (or the mail directory) accepted it.
	DeliveryDelivered DeliveryState = "Delivered"
	// DeliveryFailed: given up on (dead-lettered); it is never tried again. Sending
	// the invitation again is the way to reach the user.
	DeliveryFailed DeliveryState = "Failed"
)

// InvitationDelivery is the delivery of an invitation's email, as the outbox records
// it. It never holds the recipient or the text of a mail server's reply.
type InvitationDelivery struct {
	State DeliveryState `json:"state"`
	// Attempts is how many times delivery was tried, the successful one included.
	Attempts int `json:"attempts"`
	// ReplyClass is the class of the last failure, e.g. "5xx permanent",
	// "4xx temporary", "network temporary" or "invalid": set when Failed, and when
	// Queued after a failed attempt; empty otherwise.
	ReplyClass string `json:"replyClass,omitempty"`
}

// UndeliverableFilter selects the page of ListUndeliverable.
type UndeliverableFilter struct {
	// Limit is the page size: 0 means the default (100); at most 1000.
	Limit int
	// Cursor is the Next of the previous page.
	Cursor string
}

// UndeliverableInvitation is a pending invitation whose email could not be delivered:
// the user has not been reached, and only sending the invitation again can reach them.
type UndeliverableInvitation struct {
	User   string    `json:"user"`
	SentAt time.Time `json:"sentAt"`
	// ReplyClass is the class of the failure, as in InvitationDelivery.
	ReplyClass string `json:"replyClass"`
}

// UndeliverablePage is one page of undeliverable invitations, ordered by user key.
type UndeliverablePage struct {
	Items []UndeliverableInvitation `json:"items"`
	// Next is the cursor of the following page; nil on the last page.
	Next *string `json:"next"`
}

// InvitationView is what the invitation page shows to whoever holds the link.
type InvitationView struct {
	DisplayName string          `json:"displayName"`
	Agencies    []string        `json:"agencies"`
	State       InvitationState `json:"state"`
	ExpiresAt   time.Time       `json:"expiresAt"`
}

// Audit actions: one entry per change.
const (
	ActionAgencyUpserted      = "agency.upserted"
	ActionAgencyDeleted       = "agency.deleted"
	ActionEnvironmentUpserted = "environment.upserted"
	ActionEnvironmentDeleted  = "environment.deleted"
	ActionUserCreated         = "user.created"
	ActionUserUpdated         = "user.updated"
	ActionUserAdopted         = "user.adopted"
	ActionUserSuspended       = "user.suspended"
	ActionUserRemoved         = "user.removed"
	ActionInvitationSent      = "invitation.sent"
	ActionInvitationAccepted  = "invitation.accepted"
	ActionInvitationWithdrawn = "invitation.withdrawn"
	ActionGrantAdded          = "grant.added"
	ActionGrantRemoved        = "grant.removed"
	ActionDriftCorrected      = "drift.corrected"
	ActionUserActivated       = "user.activated" // first activity of a user created without invitation (SSO)
)

// AuditEntry is one entry of the append-only, hash-chained audit log. Details never
// hold secrets (links, tokens).
type AuditEntry struct {
	Seq        int64          `json:"seq"`
	Time       time.Time      `json:"time"`
	Actor      string         `json:"actor"`
	OnBehalfOf string         `json:"onBehalfOf"`
	Source     string         `json:"source"`
	Action     string         `json:"action"`
	Target     string         `json:"target"`
	Details    map[string]any `json:"details"`
	Hash       string         `json:"hash"`
}

// AuditFilter selects audit entries: those about a user, an agency (or one of its
// environments), or an environment; After is the last seq already seen.
type AuditFilter struct {
	User        string
	Agency      string
	Environment string
	// Actor keeps the entries written by this actor (a token's subject).
	Actor string
	// After and Before bound the entries' seq: above After, below Before (0: no
	// bound).
	After, Before int64
	// Desc lists the newest entries first.
	Desc bool
	// Limit is the page size: 0 means the default (100); at most 1000.
	Limit int
}

// AuditPage is one page of audit entries in seq order (newest first with Desc).
type AuditPage struct {
	Entries []AuditEntry `json:"entries"`
	// Next continues the listing, nil on the last page: the After of the following
	// page, or its Before with Desc.
	Next *int64 `json:"next"`
}

// AuditVerification is the result of re-walking the hash chain.
type AuditVerification struct {
	OK      bool  `json:"ok"`
	Entries int64 `json:"entries"`
	// FirstBad is the seq of the first entry that does not verify.
	FirstBad *int64 `json:"firstBad,omitempty"`
	// Problem says what is wrong with FirstBad (edited, missing, reordered).
	Problem string `json:"problem,omitempty"`
}
