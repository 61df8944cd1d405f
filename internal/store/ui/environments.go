package ui

import (
	"context"
	"net/http"
	"net/url"
	"strings"

	"github.com/studio-operator/studio-operator/internal/cascade"
	"github.com/studio-operator/studio-operator/internal/store"
)

// Environment page sizes. Finding who can act in an environment reads each
// candidate's effective access, so a page looks at a bounded number of candidates.
const (
	environmentsPerPage = 50
	membersPerPage      = 50
	memberScanBudget    = 1000
	notifiedShown       = 100
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
	Capabilities []capabilityRow
	Notified     []memberRow
	// MoreNotified: more notified users exist than are shown.
	MoreNotified bool
	AuditURL     string
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
	notified, more, err := h.membersOf(ctx, env, store.UserFilter{Environment: env.Key}, scanPosition{}, notifiedShown, memberScanBudget,
		func(a store.EnvironmentAccess) bool { return a.Notify })
	if err != nil {
		return err
	}
	page := environmentPage{
		Environment: env, Members: members, Looked: res.looked, Partial: res.partial,
		Notified: notified, MoreNotified: more.next != nil,
		AuditURL: "/ui/audit?" + url.Values{"environment": {env.Key}}.Encode(),
	}
	if res.next != nil {
		page.NextURL = envPageURL(env.Key, res.next.encode())
	}
	if pos != "" {
		page.FirstURL = envPageURL(env.Key, "")
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

func envPageURL(key, pos string) string {
	u := "/ui/environments/" + url.PathEscape(key)
	if pos != "" {
		u += "?" + url.Values{"pos": {pos}}.Encode()
	}
	return u
}

// membersOf scans the users of f for those with access to env (and, with also, whose
// access there it accepts).
func (h *Handler) membersOf(ctx context.Context, env store.Environment, f store.UserFilter, pos scanPosition, want, budget int,
	also func(store.EnvironmentAccess) bool) ([]memberRow, scanResult, error) {
	found := map[string]store.EnvironmentAccess{}
	s := userScan{filter: f, want: want, budget: budget, keep: func(ctx context.Context, u store.User) (bool, error) {
		if u.State == store.UserRemoved || u.State == store.UserSuspended {
			return false, nil
		}
		access, err := h.api.GetAccess(ctx, u.Key)
		if err != nil {
			return false, err
		}
		for _, a := range access.Environments {
			if a.Environment == env.Key && (also == nil || also(a)) {
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
