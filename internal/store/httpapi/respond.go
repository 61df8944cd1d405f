package httpapi

import (
	"encoding/json"
	"net/http"

	"github.com/studio-operator/studio-operator/internal/cascade"
	"github.com/studio-operator/studio-operator/internal/store"
)

const contentTypeJSON = "application/json"

// writeJSON sends v with status. It marshals first, so a value that cannot be encoded
// becomes a 500 problem instead of a half-written body.
func writeJSON(w http.ResponseWriter, status int, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", contentTypeJSON)
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
	return nil
}

// writePut answers a PUT: 201 when the record was created, 200 otherwise, and the
// outcome in X-Studio-Outcome.
func writePut(w http.ResponseWriter, v any, outcome store.Outcome) error {
	status := http.StatusOK
	if outcome == store.Created {
		status = http.StatusCreated
	}
	w.Header().Set(HeaderOutcome, string(outcome))
	return writeJSON(w, status, v)
}

// The normalisers below send empty lists as [] and empty objects as {}, never null,
// so every client sees the shapes the OpenAPI document promises.

func roles(rs []cascade.Role) []cascade.Role {
	if rs == nil {
		return []cascade.Role{}
	}
	return rs
}

func normGrants(gs []store.Grant) []store.Grant {
	out := make([]store.Grant, len(gs))
	for i, g := range gs {
		out[i] = store.Grant{Scope: g.Scope, Roles: roles(g.Roles)}
	}
	return out
}

func normGrantSet(g store.GrantSet) store.GrantSet {
	return store.GrantSet{Changed: g.Changed, Grants: normGrants(g.Grants)}
}

func normAccess(a store.Access) store.Access {
	out := store.Access{Environments: make([]store.EnvironmentAccess, len(a.Environments))}
	for i, e := range a.Environments {
		if e.Capabilities == nil {
			e.Capabilities = []cascade.Capability{}
		}
		e.Roles = roles(e.Roles)
		out.Environments[i] = e
	}
	return out
}

func normUserPage(p store.UserPage) store.UserPage {
	if p.Items == nil {
		p.Items = []store.User{}
	}
	return p
}

func normEnvironmentPage(p store.EnvironmentPage) store.EnvironmentPage {
	if p.Items == nil {
		p.Items = []store.Environment{}
	}
	return p
}

func normGrantPage(p store.GrantPage) store.GrantPage {
	out := store.GrantPage{Next: p.Next, Items: make([]store.UserGrants, len(p.Items))}
	for i, u := range p.Items {
		out.Items[i] = store.UserGrants{User: u.User, Grants: normGrants(u.Grants)}
	}
	return out
}

func normUndeliverablePage(p store.UndeliverablePage) store.UndeliverablePage {
	if p.Items == nil {
		p.Items = []store.UndeliverableInvitation{}
	}
	return p
}

func normAuditPage(p store.AuditPage) store.AuditPage {
	out := store.AuditPage{Next: p.Next, Entries: make([]store.AuditEntry, len(p.Entries))}
	for i, e := range p.Entries {
		if e.Details == nil {
			e.Details = map[string]any{}
		}
		out.Entries[i] = e
	}
	return out
}

func normInvitationView(v store.InvitationView) store.InvitationView {
	if v.Agencies == nil {
		v.Agencies = []string{}
	}
	return v
}
