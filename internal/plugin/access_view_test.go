package plugin

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	iamv1 "github.com/studio-operator/studio-operator/api/v1alpha1"
	"github.com/studio-operator/studio-operator/internal/cascade"
	"github.com/studio-operator/studio-operator/internal/store"
)

func TestAccessFromStatus(t *testing.T) {
	cases := map[string]struct {
		user iamv1.StudioUser
		want []AccessEntry
	}{
		"agency roles give no notify": {
			user: user("olga", func(u *iamv1.StudioUser) {
				u.Status.Access = []iamv1.EnvironmentAccess{
					access("team-support/webchat", "acme", iamv1.AccessSourceAgency, []string{"acme/operators"}, "Operator"),
				}
			}),
			want: []AccessEntry{{
				Environment: "team-support/webchat", Agency: "acme", Roles: []string{"Operator"}, Source: "Agency",
				Capabilities: []string{"crm.read", "crm.write", "inbox.history", "inbox.reply", "inbox.start"},
				Bindings:     []string{"acme/operators"},
			}},
		},
		"environment Agent is notified; sorted by environment": {
			user: user("alex", func(u *iamv1.StudioUser) {
				u.Spec.Type = iamv1.UserTypeAgent
				u.Status.Access = []iamv1.EnvironmentAccess{
					access("team-support/whatsapp", "acme", iamv1.AccessSourceAgency, []string{"acme/agents"}, "Agent"),
					access("team-support/webchat", "acme", iamv1.AccessSourceEnvironment, []string{"team-support/webchat-agents"}, "Agent"),
				}
			}),
			want: []AccessEntry{
				{
					Environment: "team-support/webchat", Agency: "acme", Roles: []string{"Agent"}, Source: "Environment",
					Capabilities: []string{"inbox.reply", "notify"}, Notify: true, Bindings: []string{"team-support/webchat-agents"},
				},
				{
					Environment: "team-support/whatsapp", Agency: "acme", Roles: []string{"Agent"}, Source: "Agency",
					Capabilities: []string{"inbox.reply"}, Bindings: []string{"acme/agents"},
				},
			},
		},
		"several roles union their capabilities": {
			user: user("diego", func(u *iamv1.StudioUser) {
				u.Status.Access = []iamv1.EnvironmentAccess{
					access("team-sales/leadbot", "acme", iamv1.AccessSourceEnvironment, []string{"team-sales/leadbot-developers"}, "ContentManager", "Developer"),
				}
			}),
			want: []AccessEntry{{
				Environment: "team-sales/leadbot", Agency: "acme", Roles: []string{"ContentManager", "Developer"}, Source: "Environment",
				Capabilities: []string{"backups.manage", "bots.develop", "cms.write"}, Bindings: []string{"team-sales/leadbot-developers"},
			}},
		},
		"no access": {
			user: user("sam", nil),
			want: []AccessEntry{},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, AccessFromStatus(&tc.user)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestAccessFromStoreShowsKubernetesNames(t *testing.T) {
	got := AccessFromStore(store.Access{Environments: []store.EnvironmentAccess{
		{Environment: "team-support.whatsapp", Agency: "acme", Roles: []cascade.Role{"Operator"}, Source: cascade.SourceEnvironment, Capabilities: []cascade.Capability{"inbox.reply", "notify"}, Notify: true},
		{Environment: "team-sales.lead.bot", Agency: "acme", Roles: []cascade.Role{"Analyst"}, Source: cascade.SourceAgency, Capabilities: []cascade.Capability{"analytics.read"}},
	}})
	want := []AccessEntry{
		{Environment: "team-sales/lead.bot", Agency: "acme", Roles: []string{"Analyst"}, Source: "Agency", Capabilities: []string{"analytics.read"}},
		{Environment: "team-support/whatsapp", Agency: "acme", Roles: []string{"Operator"}, Source: "Environment", Capabilities: []string{"inbox.reply", "notify"}, Notify: true},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestAccessTableAndFilter(t *testing.T) {
	entries := []AccessEntry{
		{Environment: "a/x", Agency: "acme", Roles: []string{"Agent"}, Source: "Environment", Capabilities: []string{"inbox.reply", "notify"}, Bindings: []string{"a/agents"}},
		{Environment: "b/y", Agency: "acme", Roles: []string{"Analyst"}, Source: "Agency", Capabilities: []string{"analytics.read", "crm.read"}},
	}
	want := Table{
		Header: []string{"ENVIRONMENT", "AGENCY", "ROLES", "SOURCE", "CAPABILITIES", "BINDINGS"},
		Rows:   [][]string{{"b/y", "acme", "Analyst", "Agency", "analytics.read,crm.read", "-"}},
	}
	if diff := cmp.Diff(want, AccessTable(OnlyEnvironment(entries, "b/y"))); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if got := OnlyEnvironment(entries, ""); len(got) != 2 {
		t.Errorf("no filter kept %d entries, want 2", len(got))
	}
}
