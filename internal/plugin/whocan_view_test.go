package plugin

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	iamv1 "github.com/studio-operator/studio-operator/api/v1alpha1"
)

func TestParseQuestion(t *testing.T) {
	cases := map[string]struct {
		arg     string
		want    Question
		wantErr string
	}{
		"role":       {arg: "Operator", want: Question{Role: "Operator"}},
		"capability": {arg: "crm.read", want: Question{Capability: "crm.read"}},
		"notify":     {arg: "notify", want: Question{Capability: "notify"}},
		"supervisor": {arg: "Supervisor", wantErr: errSupervisor},
		"unknown":    {arg: "operator", wantErr: `unknown role or capability "operator": roles are Administrator,Agent,Analyst,ContentManager,Developer,EnvironmentManager,Operator,OrganisationManager,Planner,Producer; capabilities are analytics.read,backups.manage,bots.develop,cms.write,crm.read,crm.write,environments.manage,inbox.history,inbox.reply,inbox.start,notify,planning.write,settings.write,users.manage`},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got, err := ParseQuestion(tc.arg)
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestWhoCan(t *testing.T) {
	users := []iamv1.StudioUser{
		user("sofia", func(u *iamv1.StudioUser) {
			u.Status.Access = []iamv1.EnvironmentAccess{access("team-support/whatsapp", "acme", iamv1.AccessSourceEnvironment, []string{"team-support/whatsapp-operators"}, "Operator")}
		}),
		user("olga", func(u *iamv1.StudioUser) {
			u.Status.Access = []iamv1.EnvironmentAccess{access("team-support/whatsapp", "acme", iamv1.AccessSourceAgency, []string{"acme/operators"}, "Operator")}
		}),
		user("ana", func(u *iamv1.StudioUser) {
			u.Status.Access = []iamv1.EnvironmentAccess{
				access("team-support/webchat", "acme", iamv1.AccessSourceAgency, []string{"acme/analysts"}, "Analyst"),
				access("team-support/whatsapp", "acme", iamv1.AccessSourceAgency, []string{"acme/analysts"}, "Analyst"),
			}
		}),
	}
	sofia := WhoCanEntry{Name: "sofia", Type: "User", Roles: []string{"Operator"}, Source: "Environment", Bindings: []string{"team-support/whatsapp-operators"}}
	olga := WhoCanEntry{Name: "olga", Type: "User", Roles: []string{"Operator"}, Source: "Agency", Bindings: []string{"acme/operators"}}
	ana := WhoCanEntry{Name: "ana", Type: "User", Roles: []string{"Analyst"}, Source: "Agency", Bindings: []string{"acme/analysts"}}

	cases := map[string]struct {
		q    Question
		env  string
		want []WhoCanEntry
	}{
		"role, sorted by name":                     {q: Question{Role: "Operator"}, env: "team-support/whatsapp", want: []WhoCanEntry{olga, sofia}},
		"notify needs the role in the environment": {q: Question{Capability: "notify"}, env: "team-support/whatsapp", want: []WhoCanEntry{sofia}},
		"capability from several roles":            {q: Question{Capability: "crm.read"}, env: "team-support/whatsapp", want: []WhoCanEntry{ana, olga, sofia}},
		"other environment":                        {q: Question{Capability: "crm.read"}, env: "team-support/webchat", want: []WhoCanEntry{ana}},
		"nobody":                                   {q: Question{Role: "Planner"}, env: "team-support/whatsapp", want: []WhoCanEntry{}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, WhoCan(users, tc.q, tc.env)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}
