package ui

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"github.com/studio-operator/studio-operator/internal/cascade"
	"github.com/studio-operator/studio-operator/internal/store"
)

// Environment page sizes. Finding who can act in an environment reads each
// candidate's effective access, so a page looks at a bounded number of candidates.
const (
	environmentsPerPage = 50
	membersPerPage      = 50
	memberScanBudget    = 1000
	// memberBatch is the store page size of those scans: candidates are read in
	// small pages, because each costs an access read.
	memberBatch   = 100
	notifiedShown = 50
)

type environmentsPage struct {
	Agency       string
	Agencies     []string
	Environments []store.Environment
	NextURL      string
	FirstURL     string
}

func (h *Handler) environmentsPage(w http.ResponseWriter, r *http.Request, v *visit) error {
	ctx := r.Context()
	q := r.URL.Query()
	agency := strings.TrimSpace(q.Get("agency"))
	if len(agency) > maxSearchLen {
		agency = ""
	}
	page, err := h.api.ListEnvironments(ctx, store.EnvironmentFilter{Agency: agency, Limit: environmentsPerPage, Cursor: q.Get("cursor")})
	if err != nil {
		return err
	}
	all, _, err := h.environmentOptions(ctx)
	if err != nil {
		return err
	}
	data := environmentsPage{Agency: agency, Agencies: agenciesOf(all), Environments: page.Items}
	base := url.Values{}
	if agency != "" {
		base.Set("agency", agency)
	}
	if page.Next != nil {
		n := url.Values{"cursor": {*page.Next}}
		if agency != "" {
			n.Set("agency", agency)
		}
		data.NextURL = "/ui/environments?" + n.Encode()
	}
	if q.Get("cursor") != "" {
		data.FirstURL = "/ui/environments"
		if len(base) > 0 {
			data.FirstURL += "?" + base.Encode()
		}
	}
	h.render(w, r, v, http.StatusOK, tmplEnvironments, "environments", "Environments", data)
	return nil
}

type environmentPage struct {
	Environment store.Environment
	Members     []memberRow
	NextURL     string
	FirstURL    string
	Looked      int
	Partial     bool
	// Capabilities lists, per capability, the members of this page that have it.
	Capabilities     []capabilityRow
	Notified         []memberRow
	NotifiedPartial  bool
	NotifiedNextURL  string
	NotifiedFirstURL string
	AuditURL         string
}

type memberRow struct {
	User   store.User
	Access store.EnvironmentAccess
}

type capabilityRow struct {
	Capability cascade.Capability
	Members    []store.User
}

func (h *Handler) environmentPage(w http.ResponseWriter, r *http.Request, v *visit) error {
	ctx := r.Context()
	key := r.PathValue("env")
	env, err := h.api.GetEnvironment(ctx, key)
	if err != nil {
		return err
	}
	pos := r.URL.Query().Get("pos")
	// Everyone with a grant in the agency may reach the environment (agency-scoped
	// grants ripple down); the access of each decides.
	members, res, err := h.membersOf(ctx, env, store.UserFilter{Agency: env.Agency}, decodePosition(pos), membersPerPage, memberScanBudget, nil)
	if err != nil {
		return err
	}
	// Notified users hold Agent or Operator from a grant on the environment itself.
	// They are found among the agency's users too: the store's listing by
	// environment walks every user for each page.
	npos := r.URL.Query().Get("npos")
	notified, nres, err := h.membersOf(ctx, env, store.UserFilter{Agency: env.Agency}, decodePosition(npos), notifiedShown, memberScanBudget,
		func(a store.EnvironmentAccess) bool { return a.Notify })
	if err != nil {
		return err
	}
	page := environmentPage{
		Environment: env, Members: members, Looked: res.looked, Partial: res.partial,
		Notified: notified, NotifiedPartial: nres.partial,
		AuditURL: "/ui/audit?" + url.Values{"environment": {env.Key}}.Encode(),
	}
	if res.next != nil {
		page.NextURL = envPageURL(env.Key, "pos", res.next.encode(), npos)
	}
	if pos != "" {
		page.FirstURL = envPageURL(env.Key, "pos", "", npos)
	}
	if nres.next != nil {
		page.NotifiedNextURL = envPageURL(env.Key, "npos", nres.next.encode(), pos)
	}
	if npos != "" {
		page.NotifiedFirstURL = envPageURL(env.Key, "npos", "", pos)
	}
	for _, c := range cascade.AllCapabilities {
		row := capabilityRow{Capability: c}
		for _, m := range members {
			for _, mc := range m.Access.Capabilities {
				if mc == c {
					row.Members = append(row.Members, m.User)
				}
			}
		}
		page.Capabilities = append(page.Capabilities, row)
	}
	h.render(w, r, v, http.StatusOK, tmplEnvironment, "environments", env.DisplayName+" ("+env.Key+")", page)
	return nil
}

// envPageURL is the environment page with the position of one list (name: pos for
// the users with access, npos for the notified) and that of the other kept.
func envPageURL(key, name, value, other string) string {
	q := url.Values{}
	if value != "" {
		q.Set(name, value)
	}
	otherName := "npos"
	if name == "npos" {
		otherName = "pos"
	}
	if other != "" {
		q.Set(otherName, other)
	}
	u := "/ui/environments/" + url.PathEscape(key)
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	return u
}

// membersOf scans the users of f for those with access to env (and, with also, whose
// access there it accepts).
func (h *Handler) membersOf(ctx context.Context, env store.Environment, f store.UserFilter, pos scanPosition, want, budget int,
	also func(store.EnvironmentAccess) bool) ([]memberRow, scanResult, error) {
	found := map[string]store.EnvironmentAccess{}
	var mu sync.Mutex
	s := userScan{filter: f, want: want, budget: budget, batch: memberBatch, readers: accessReaders, keep: func(ctx context.Context, u store.User) (bool, error) {
		access, err := h.accessOf(ctx, u)
		if err != nil {
			return false, err
		}
		for _, a := range access.Environments {
			if a.Environment == env.Key && (also == nil || also(a)) {
				mu.Lock()
				defer mu.Unlock()
				found[u.Key] = a
				return true, nil
			}
		}
		return false, nil
	}}
	res, err := s.run(ctx, h.api, pos)
	if err != nil {
		return nil, scanResult{}, err
	}
	rows := make([]memberRow, 0, len(res.users))
	for _, u := range res.users {
		rows = append(rows, memberRow{User: u, Access: found[u.Key]})
	}
	return rows, res, nil
}
