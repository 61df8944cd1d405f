package ui

import (
	"context"
	"encoding/json"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/studio-operator/studio-operator/internal/store"
)

// The user panel opens beside the overview; each tab has its own address
// (/ui/users/{user}, …/access, …/invitation, …/audit) that keeps the overview's query.

type panelTab string

const (
	tabDetails    panelTab = "details"
	tabAccess     panelTab = "access"
	tabInvitation panelTab = "invitation"
	tabAudit      panelTab = "audit"
)

var panelTabs = []struct {
	tab   panelTab
	label string
	path  string
}{
	{tabDetails, "Details", ""},
	{tabAccess, "Access", "/access"},
	{tabInvitation, "Invitation", "/invitation"},
	{tabAudit, "Audit log", "/audit"},
}

// auditPerPage is the number of entries of an audit page or tab.
const auditPerPage = 50

type userPanel struct {
	User       store.User
	Tab        panelTab
	Tabs       []tabLink
	CloseURL   string
	Access     []accessRow
	Invitation store.Invitation
	Audit      auditList
	Actions    userActions
	// Notice confirms an action just done.
	Notice string
}

type tabLink struct {
	ID, Label, URL string
	Current        bool
}

type accessRow struct {
	store.EnvironmentAccess
	Name string
}

// userActions is what the panel's buttons may do for this record and this sign-in.
type userActions struct {
	// Allowed: an admin sign-in and a record no operator instance manages.
	Allowed bool
	// ReadOnly: the sign-in is a reader's.
	ReadOnly bool
	// Removed: nothing to remove and no invitation to send.
	Removed bool
	// Managed says where the truth of a managed record lives.
	Managed   *managedNote
	RemoveURL string
	LinkURL   string
}

// managedNote names the operator instance and the StudioUser that own the record, and
// the kubectl commands that do what the disabled buttons would.
type managedNote struct {
	Instance string
	User     string
	Commands []kubectlCommand
}

type kubectlCommand struct {
	ID, Label, Command string
}

// actionsFor decides the actions on u, in the panel and in u's row of the table, for
// a principal that may act (canWrite) or not.
func actionsFor(u store.User, canWrite bool, back overviewQuery) userActions {
	a := userActions{
		ReadOnly:  !canWrite,
		Removed:   u.State == store.UserRemoved,
		RemoveURL: back.url(userURL(u.Key) + "/remove"),
		LinkURL:   back.url(userURL(u.Key) + "/invitation-link"),
	}
	if u.ManagedBy != "" {
		a.Managed = &managedNote{Instance: u.ManagedBy, User: u.Key, Commands: []kubectlCommand{
			{ID: "cmd-resend", Label: "Send a fresh invitation (the old link stops working)", Command: "kubectl studio resend " + u.Key},
			{ID: "cmd-link", Label: "Then, once the operator has sent it, print its link", Command: "kubectl studio invite-link " + u.Key},
			{ID: "cmd-remove", Label: "Remove the user (revokes all access)", Command: "kubectl delete studiouser " + u.Key},
		}}
	}
	a.Allowed = !a.ReadOnly && a.Managed == nil && !a.Removed
	return a
}

// Why says in one line why the actions are not allowed ("" when they are).
func (a userActions) Why() string {
	switch {
	case a.Managed != nil:
		return "Managed from Kubernetes by instance " + a.Managed.Instance + ": change StudioUser " + a.Managed.User + " there"
	case a.Removed:
		return "The user is removed"
	case a.ReadOnly:
		return "Read-only sign-in: acting needs an admin token"
	}
	return ""
}

// Notices after an action (the query says which, never what was entered).
var notices = map[string]string{
	"removed": "The user was removed: all access is revoked and a pending invitation withdrawn. The record and its audit log are kept.",
	"invited": "The user was invited: the invitation email is on its way.",
}

func (h *Handler) userPanel(tab panelTab) pageFunc {
	return func(w http.ResponseWriter, r *http.Request, v *visit) error {
		ctx := r.Context()
		key := r.PathValue("user")
		u, err := h.api.GetUser(ctx, key)
		if err != nil {
			return err
		}
		q := parseOverviewQuery(r.URL.Query())
		page, err := h.overview(ctx, q, key, v.sess.principal.CanWrite())
		if err != nil {
			return err
		}
		p := &userPanel{User: u, Tab: tab, CloseURL: q.url("/ui/users"), Actions: actionsFor(u, v.sess.principal.CanWrite(), q),
			Notice: notices[r.URL.Query().Get("done")]}
		for _, t := range panelTabs {
			p.Tabs = append(p.Tabs, tabLink{ID: "tab-" + string(t.tab), Label: t.label, URL: q.url(userURL(key) + t.path), Current: t.tab == tab})
		}
		switch tab {
		case tabAccess:
			if p.Access, err = h.accessRows(r, key, page.Environments); err != nil {
				return err
			}
		case tabInvitation:
			if p.Invitation, err = h.api.GetInvitation(ctx, key); err != nil {
				return err
			}
		case tabAudit:
			before, _ := strconv.ParseInt(r.URL.Query().Get("before"), 10, 64)
			if p.Audit, err = h.auditList(r, store.AuditFilter{User: key}, before, q.url(userURL(key)+"/audit")); err != nil {
				return err
			}
		}
		page.Panel = p
		h.render(w, r, v, http.StatusOK, tmplUsers, "users", u.DisplayName+" ("+u.Key+")", page)
		return nil
	}
}

func (h *Handler) accessRows(r *http.Request, key string, envs []envOption) ([]accessRow, error) {
	access, err := h.api.GetAccess(r.Context(), key)
	if err != nil {
		return nil, err
	}
	names := map[string]string{}
	for _, e := range envs {
		names[e.Key] = e.Name
	}
	out := make([]accessRow, 0, len(access.Environments))
	for _, a := range access.Environments {
		out = append(out, accessRow{EnvironmentAccess: a, Name: names[a.Environment]})
	}
	return out, nil
}

// auditList is one newest-first page of audit entries.
type auditList struct {
	Entries   []auditRow
	OlderURL  string
	NewestURL string
}

type auditRow struct {
	store.AuditEntry
	Summary string
}

// newestAudit returns up to n entries of f with seq below before (before <= 0: from
// the newest), newest first, and the before of the next, older page (0: none): one
// read of the store's listing newest first.
func newestAudit(ctx context.Context, api store.API, f store.AuditFilter, before int64, n int) ([]store.AuditEntry, int64, error) {
	f.Desc, f.Before, f.Limit = true, max(before, 0), n
	page, err := api.ListAudit(ctx, f)
	if err != nil {
		return nil, 0, err
	}
	var older int64
	if page.Next != nil {
		older = *page.Next
	}
	return page.Entries, older, nil
}

// auditList reads the page of f below before; base is the page's address without
// "before".
func (h *Handler) auditList(r *http.Request, f store.AuditFilter, before int64, base string) (auditList, error) {
	entries, older, err := newestAudit(r.Context(), h.api, f, before, auditPerPage)
	if err != nil {
		return auditList{}, err
	}
	var out auditList
	for _, e := range entries {
		out.Entries = append(out.Entries, auditRow{AuditEntry: e, Summary: summarize(e.Details)})
	}
	sep := "?"
	if strings.Contains(base, "?") {
		sep = "&"
	}
	if older > 0 {
		out.OlderURL = base + sep + "before=" + strconv.FormatInt(older, 10)
	}
	if before > 0 {
		out.NewestURL = base
	}
	return out, nil
}

// summarize writes audit details as "key: value" pairs in key order.
func summarize(details map[string]any) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(details)) {
		parts = append(parts, k+": "+detailValue(details[k]))
	}
	return strings.Join(parts, "; ")
}

// detailValue writes a string as it is, an object such as a scope as "agency acme",
// anything else as JSON.
func detailValue(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case map[string]any:
		var parts []string
		for _, k := range slices.Sorted(maps.Keys(v)) {
			parts = append(parts, k+" "+detailValue(v[k]))
		}
		return strings.Join(parts, ", ")
	}
	b, _ := json.Marshal(v)
	return string(b)
}
