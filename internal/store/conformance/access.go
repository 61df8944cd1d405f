package conformance

import (
	"github.com/studio-operator/studio-operator/internal/cascade"
	"github.com/studio-operator/studio-operator/internal/store"
)

// access is a compact view of one environment's effective access.
type access struct {
	Roles  []cascade.Role
	Source cascade.Source
	Notify bool
}

func (h *harness) access(key string) map[string]access {
	h.t.Helper()
	a, err := h.api.GetAccess(h.ctx, key)
	if err != nil {
		h.t.Fatalf("GetAccess(%s): %v", key, err)
	}
	out := map[string]access{}
	for _, e := range a.Environments {
		out[e.Environment] = access{Roles: e.Roles, Source: e.Source, Notify: e.Notify}
	}
	return out
}

var accessCases = []testCase{
	{"AccessFollowsTheCascade", func(h *harness) {
		h.org()
		for name, tc := range map[string]struct {
			typ    cascade.UserType
			grants []store.Grant
			want   map[string]access
		}{
			"agency roles ripple down without notify": {
				grants: []store.Grant{agencyGrant("acme", cascade.Operator)},
				want: map[string]access{
					"team-a.prod":    {Roles: []cascade.Role{cascade.Operator}, Source: cascade.SourceAgency},
					"team-a.staging": {Roles: []cascade.Role{cascade.Operator}, Source: cascade.SourceAgency},
				},
			},
			"environment overrides agency, notify only there": {
				grants: []store.Grant{agencyGrant("acme", cascade.Analyst), envGrant("team-a.prod", cascade.Agent)},
				want: map[string]access{
					"team-a.prod":    {Roles: []cascade.Role{cascade.Agent}, Source: cascade.SourceEnvironment, Notify: true},
					"team-a.staging": {Roles: []cascade.Role{cascade.Analyst}, Source: cascade.SourceAgency},
				},
			},
			"an empty environment grant blocks the agency's roles": {
				grants: []store.Grant{agencyGrant("acme", cascade.Producer), envGrant("team-a.staging")},
				want: map[string]access{
					"team-a.prod": {Roles: []cascade.Role{cascade.Producer}, Source: cascade.SourceAgency},
				},
			},
			"agents keep only Agent and Operator": {
				typ:    cascade.UserTypeAgent,
				grants: []store.Grant{agencyGrant("acme", cascade.Analyst), envGrant("team-b.prod", cascade.Operator, cascade.Developer)},
				want: map[string]access{
					"team-b.prod": {Roles: []cascade.Role{cascade.Operator}, Source: cascade.SourceEnvironment, Notify: true},
				},
			},
			"no grants, no access": {want: map[string]access{}},
		} {
			spec := userSpec("alice@example.com")
			spec.Type = cascade.UserTypeUser
			if tc.typ != "" {
				spec.Type = tc.typ
			}
			if _, _, err := h.api.PutUser(h.ctx, operator, "alice", spec); err != nil {
				h.t.Fatal(err)
			}
			h.grants(operator, "alice", tc.grants...)
			diff(h.t, name, tc.want, h.access("alice"))
		}
	}},
	{"AccessReportsCapabilities", func(h *harness) {
		h.org()
		h.user(operator, "alice", "alice@example.com")
		h.grants(operator, "alice", agencyGrant("acme", cascade.Operator, cascade.OrganisationManager), envGrant("team-a.prod", cascade.Agent))
		a, err := h.api.GetAccess(h.ctx, "alice")
		if err != nil {
			h.t.Fatal(err)
		}
		want := store.Access{Environments: []store.EnvironmentAccess{
			{
				Environment: "team-a.prod", Agency: "acme", Roles: []cascade.Role{cascade.Agent}, Source: cascade.SourceEnvironment,
				Capabilities: []cascade.Capability{cascade.InboxReply, cascade.Notify}, Notify: true,
			},
			{
				Environment: "team-a.staging", Agency: "acme", Roles: []cascade.Role{cascade.Operator, cascade.OrganisationManager}, Source: cascade.SourceAgency,
				Capabilities: []cascade.Capability{cascade.CRMRead, cascade.CRMWrite, cascade.EnvironmentsManage, cascade.InboxHistory,
					cascade.InboxReply, cascade.InboxStart, cascade.UsersManage},
			},
		}}
		diff(h.t, "access", want, a)
	}},
	{"AccessFollowsNewEnvironments", func(h *harness) {
		h.org()
		h.user(operator, "alice", "alice@example.com")
		h.grants(operator, "alice", agencyGrant("globex", cascade.Planner))
		h.environment("team-b.staging", "globex")
		got := h.access("alice")
		if _, ok := got["team-b.staging"]; !ok || len(got) != 2 {
			h.t.Fatalf("access = %+v; want both globex environments, including the new one", got)
		}
	}},
}
