package client

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/studio-operator/studio-operator/internal/store"
)

// Paths of the API, relative to the base URL.
const (
	pathAgencies      = "/api/v1/agencies/"
	pathEnvironments  = "/api/v1/environments/"
	pathUsers         = "/api/v1/users"
	pathGrants        = "/api/v1/grants"
	pathUndeliverable = "/api/v1/invitations/undeliverable"
	pathAudit         = "/api/v1/audit"
	pathAuditVerify   = "/api/v1/audit/verify"
)

// outcomeOf reads X-Studio-Outcome, falling back to the status for a server that
// does not send it.
func outcomeOf(h http.Header, status int) store.Outcome {
	switch o := store.Outcome(h.Get(headerOutcome)); o {
	case store.Created, store.Updated, store.Unchanged:
		return o
	}
	if status == http.StatusCreated {
		return store.Created
	}
	return store.Updated
}

// PutAgency creates or updates an agency.
func (c *Client) PutAgency(ctx context.Context, caller store.Caller, key string, spec store.AgencySpec) (store.Agency, store.Outcome, error) {
	var out store.Agency
	k, err := seg("key", key)
	if err != nil {
		return out, "", err
	}
	h, status, err := c.do(ctx, call{op: "PutAgency", method: http.MethodPut, path: pathAgencies + k, caller: &caller, body: spec, out: &out})
	if err != nil {
		return store.Agency{}, "", err
	}
	return out, outcomeOf(h, status), nil
}

// GetAgency reads an agency.
func (c *Client) GetAgency(ctx context.Context, key string) (store.Agency, error) {
	var out store.Agency
	k, err := seg("key", key)
	if err != nil {
		return out, err
	}
	_, _, err = c.do(ctx, call{op: "GetAgency", method: http.MethodGet, path: pathAgencies + k, out: &out})
	return out, err
}

// DeleteAgency deletes an agency (CodeHasDependents while it has environments).
func (c *Client) DeleteAgency(ctx context.Context, caller store.Caller, key string) error {
	k, err := seg("key", key)
	if err != nil {
		return err
	}
	_, _, err = c.do(ctx, call{op: "DeleteAgency", method: http.MethodDelete, path: pathAgencies + k, caller: &caller})
	return err
}

// PutEnvironment creates or updates an environment.
func (c *Client) PutEnvironment(ctx context.Context, caller store.Caller, key string, spec store.EnvironmentSpec) (store.Environment, store.Outcome, error) {
	var out store.Environment
	k, err := seg("key", key)
	if err != nil {
		return out, "", err
	}
	h, status, err := c.do(ctx, call{op: "PutEnvironment", method: http.MethodPut, path: pathEnvironments + k, caller: &caller, body: spec, out: &out})
	if err != nil {
		return store.Environment{}, "", err
	}
	return out, outcomeOf(h, status), nil
}

// GetEnvironment reads an environment.
func (c *Client) GetEnvironment(ctx context.Context, key string) (store.Environment, error) {
	var out store.Environment
	k, err := seg("key", key)
	if err != nil {
		return out, err
	}
	_, _, err = c.do(ctx, call{op: "GetEnvironment", method: http.MethodGet, path: pathEnvironments + k, out: &out})
	return out, err
}

// ListEnvironments reads one page of environments.
func (c *Client) ListEnvironments(ctx context.Context, f store.EnvironmentFilter) (store.EnvironmentPage, error) {
	q := url.Values{}
	setQuery(q, "agency", f.Agency)
	setQuery(q, "cursor", f.Cursor)
	if f.Limit > 0 {
		q.Set("limit", strconv.Itoa(f.Limit))
	}
	var out store.EnvironmentPage
	_, _, err := c.do(ctx, call{op: "ListEnvironments", method: http.MethodGet, path: strings.TrimSuffix(pathEnvironments, "/"), query: q, out: &out})
	return out, err
}

// DeleteEnvironment deletes an environment and its grants.
func (c *Client) DeleteEnvironment(ctx context.Context, caller store.Caller, key string) error {
	k, err := seg("key", key)
	if err != nil {
		return err
	}
	_, _, err = c.do(ctx, call{op: "DeleteEnvironment", method: http.MethodDelete, path: pathEnvironments + k, caller: &caller})
	return err
}

// PutUser creates or updates a user.
func (c *Client) PutUser(ctx context.Context, caller store.Caller, key string, spec store.UserSpec) (store.User, store.Outcome, error) {
	var out store.User
	k, err := seg("key", key)
	if err != nil {
		return out, "", err
	}
	h, status, err := c.do(ctx, call{op: "PutUser", method: http.MethodPut, path: pathUsers + "/" + k, caller: &caller, body: spec, out: &out})
	if err != nil {
		return store.User{}, "", err
	}
	return out, outcomeOf(h, status), nil
}

// GetUser reads a user.
func (c *Client) GetUser(ctx context.Context, key string) (store.User, error) {
	var out store.User
	k, err := seg("key", key)
	if err != nil {
		return out, err
	}
	_, _, err = c.do(ctx, call{op: "GetUser", method: http.MethodGet, path: pathUsers + "/" + k, out: &out})
	return out, err
}

// RemoveUser revokes all of a user's access and marks it Removed.
func (c *Client) RemoveUser(ctx context.Context, caller store.Caller, key string) (store.User, error) {
	var out store.User
	k, err := seg("key", key)
	if err != nil {
		return out, err
	}
	_, _, err = c.do(ctx, call{op: "RemoveUser", method: http.MethodDelete, path: pathUsers + "/" + k, caller: &caller, out: &out})
	return out, err
}

// ListUsers reads one page of users.
func (c *Client) ListUsers(ctx context.Context, f store.UserFilter) (store.UserPage, error) {
	q := url.Values{}
	setQuery(q, "email", f.Email)
	setQuery(q, "agency", f.Agency)
	setQuery(q, "environment", f.Environment)
	setQuery(q, "cursor", f.Cursor)
	setQuery(q, "order", string(f.Order))
	if f.Desc {
		q.Set("direction", "desc")
	}
	if f.Limit > 0 {
		q.Set("limit", strconv.Itoa(f.Limit))
	}
	var out store.UserPage
	_, _, err := c.do(ctx, call{op: "ListUsers", method: http.MethodGet, path: pathUsers, query: q, out: &out})
	return out, err
}

// PutGrants replaces the user's whole grant set.
func (c *Client) PutGrants(ctx context.Context, caller store.Caller, key string, grants []store.Grant) (store.GrantSet, error) {
	var out store.GrantSet
	k, err := seg("key", key)
	if err != nil {
		return out, err
	}
	body := grantsRequest{Grants: make([]store.Grant, len(grants))}
	for i, g := range grants {
		// A nil Roles means "no roles" to the store; send [] so the server does
		// not take it for a missing member.
		if g.Roles == nil {
			g.Roles = emptyRoles
		}
		body.Grants[i] = g
	}
	_, _, err = c.do(ctx, call{op: "PutGrants", method: http.MethodPut, path: pathUsers + "/" + k + "/grants", caller: &caller, body: body, out: &out})
	return out, err
}

// GetGrants reads the user's grant set.
func (c *Client) GetGrants(ctx context.Context, key string) (store.GrantSet, error) {
	var out store.GrantSet
	k, err := seg("key", key)
	if err != nil {
		return out, err
	}
	_, _, err = c.do(ctx, call{op: "GetGrants", method: http.MethodGet, path: pathUsers + "/" + k + "/grants", out: &out})
	return out, err
}

// ListGrants reads one page of users' grant sets.
func (c *Client) ListGrants(ctx context.Context, f store.GrantFilter) (store.GrantPage, error) {
	q := url.Values{}
	setQuery(q, "cursor", f.Cursor)
	if f.Limit > 0 {
		q.Set("limit", strconv.Itoa(f.Limit))
	}
	var out store.GrantPage
	_, _, err := c.do(ctx, call{op: "ListGrants", method: http.MethodGet, path: pathGrants, query: q, out: &out})
	return out, err
}

// GetAccess reads the user's effective access.
func (c *Client) GetAccess(ctx context.Context, key string) (store.Access, error) {
	var out store.Access
	k, err := seg("key", key)
	if err != nil {
		return out, err
	}
	_, _, err = c.do(ctx, call{op: "GetAccess", method: http.MethodGet, path: pathUsers + "/" + k + "/access", out: &out})
	return out, err
}

// SendInvitation sends or re-sends the user's invitation; the same non-empty
// idempotencyKey returns the same invitation without a second email.
func (c *Client) SendInvitation(ctx context.Context, caller store.Caller, key, idempotencyKey string) (store.Invitation, error) {
	var out store.Invitation
	k, err := seg("key", key)
	if err != nil {
		return out, err
	}
	_, _, err = c.do(ctx, call{
		op: "SendInvitation", method: http.MethodPost, path: pathUsers + "/" + k + "/invitations", caller: &caller,
		header: map[string]string{headerIdempotencyKey: idempotencyKey}, out: &out,
	})
	return out, err
}

// GetInvitation reads the user's latest invitation (without its link).
func (c *Client) GetInvitation(ctx context.Context, key string) (store.Invitation, error) {
	var out store.Invitation
	k, err := seg("key", key)
	if err != nil {
		return out, err
	}
	_, _, err = c.do(ctx, call{op: "GetInvitation", method: http.MethodGet, path: pathUsers + "/" + k + "/invitation", out: &out})
	return out, err
}

// ListUndeliverable reads one page of the pending invitations whose mail could not be
// delivered.
func (c *Client) ListUndeliverable(ctx context.Context, f store.UndeliverableFilter) (store.UndeliverablePage, error) {
	q := url.Values{}
	setQuery(q, "cursor", f.Cursor)
	if f.Limit > 0 {
		q.Set("limit", strconv.Itoa(f.Limit))
	}
	var out store.UndeliverablePage
	_, _, err := c.do(ctx, call{op: "ListUndeliverable", method: http.MethodGet, path: pathUndeliverable, query: q, out: &out})
	return out, err
}

// RecordActivity sets the user's lastActiveAt.
func (c *Client) RecordActivity(ctx context.Context, caller store.Caller, key string) (store.User, error) {
	var out store.User
	k, err := seg("key", key)
	if err != nil {
		return out, err
	}
	_, _, err = c.do(ctx, call{op: "RecordActivity", method: http.MethodPost, path: pathUsers + "/" + k + "/activity", caller: &caller, out: &out})
	return out, err
}

// ListAudit reads one page of audit entries.
func (c *Client) ListAudit(ctx context.Context, f store.AuditFilter) (store.AuditPage, error) {
	q := url.Values{}
	setQuery(q, "user", f.User)
	setQuery(q, "agency", f.Agency)
	setQuery(q, "environment", f.Environment)
	setQuery(q, "actor", f.Actor)
	for name, seq := range map[string]int64{"after": f.After, "before": f.Before} {
		if seq < 0 {
			return store.AuditPage{}, store.Errorf(store.CodeInvalid, name, "must not be negative")
		}
	}
	if f.After > 0 {
		q.Set("after", strconv.FormatInt(f.After, 10))
	}
	if f.Before > 0 {
		q.Set("before", strconv.FormatInt(f.Before, 10))
	}
	if f.Desc {
		q.Set("direction", "desc")
	}
	if f.Limit > 0 {
		q.Set("limit", strconv.Itoa(f.Limit))
	}
	var out store.AuditPage
	_, _, err := c.do(ctx, call{op: "ListAudit", method: http.MethodGet, path: pathAudit, query: q, out: &out})
	return out, err
}

// VerifyAudit re-walks the audit hash chain.
func (c *Client) VerifyAudit(ctx context.Context) (store.AuditVerification, error) {
	var out store.AuditVerification
	_, _, err := c.do(ctx, call{op: "VerifyAudit", method: http.MethodGet, path: pathAuditVerify, out: &out})
	return out, err
}

func setQuery(q url.Values, k, v string) {
	if v != "" {
		q.Set(k, v)
	}
}
