package plugin

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	iamv1 "github.com/studio-operator/studio-operator/api/v1alpha1"
)

// want compares a command's output with what a user should see.
func (r result) want(t *testing.T, out, errOut string, code int) {
	t.Helper()
	if diff := cmp.Diff(out, r.out); diff != "" {
		t.Errorf("stdout (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(errOut, r.errOut); diff != "" {
		t.Errorf("stderr (-want +got):\n%s", diff)
	}
	if r.code != code {
		t.Errorf("exit code %d, want %d", r.code, code)
	}
}

func TestUsersCommand(t *testing.T) {
	tc := startCluster(t)

	t.Run("table", func(t *testing.T) {
		tc.run(t, "users", "-l", orgLabel).want(t, ""+
			"NAME    EMAIL               TYPE    STATE       ENVIRONMENTS   LAST ACTIVE   CREATED   INVITATION\n"+
			"alex    alex@example.com    Agent   Invited     1              -             10m       Pending 6d left\n"+
			"ana     ana@example.com     User    Active      2              90m           3d        Accepted\n"+
			"diego   diego@example.com   User    Active      3              5m            30d       -\n"+
			"sam     sam@example.com     User    Suspended   0              20d           200d      -\n"+
			"sofia   sofia@example.com   User    Active      1              3h            2d        -\n",
			"", 0)
	})
	t.Run("wide", func(t *testing.T) {
		tc.run(t, "users", "-l", orgLabel, "-o", "wide").want(t, ""+
			"NAME    EMAIL               TYPE    STATE       ENVIRONMENTS   LAST ACTIVE   CREATED   INVITATION        ENVIRONMENT LIST\n"+
			"alex    alex@example.com    Agent   Invited     1              -             10m       Pending 6d left   team-support/webchat\n"+
			"ana     ana@example.com     User    Active      2              90m           3d        Accepted          team-support/webchat,team-support/whatsapp\n"+
			"diego   diego@example.com   User    Active      3              5m            30d       -                 team-sales/leadbot,team-support/webchat,team-support/whatsapp\n"+
			"sam     sam@example.com     User    Suspended   0              20d           200d      -                 -\n"+
			"sofia   sofia@example.com   User    Active      1              3h            2d        -                 team-support/whatsapp\n",
			"", 0)
	})
	t.Run("name", func(t *testing.T) {
		tc.run(t, "users", "-l", orgLabel, "-o", "name").want(t, ""+
			"studiouser.iam.studio-operator.io/alex\n"+
			"studiouser.iam.studio-operator.io/ana\n"+
			"studiouser.iam.studio-operator.io/diego\n"+
			"studiouser.iam.studio-operator.io/sam\n"+
			"studiouser.iam.studio-operator.io/sofia\n",
			"", 0)
	})
	for _, format := range []string{"json", "yaml"} {
		t.Run(format, func(t *testing.T) {
			r := tc.run(t, "users", "-l", orgLabel, "-o", format)
			r.want(t, r.out, "", 0)
			var list iamv1.StudioUserList
			if err := yaml.Unmarshal([]byte(r.out), &list); err != nil {
				t.Fatalf("output is not a StudioUserList: %v", err)
			}
			var got []string
			for _, u := range list.Items {
				got = append(got, u.APIVersion+" "+u.Kind+" "+u.Name+" "+string(u.Status.State))
				if len(u.ManagedFields) != 0 {
					t.Errorf("%s: managedFields printed", u.Name)
				}
			}
			want := []string{
				"iam.studio-operator.io/v1alpha1 StudioUser alex Invited",
				"iam.studio-operator.io/v1alpha1 StudioUser ana Active",
				"iam.studio-operator.io/v1alpha1 StudioUser diego Active",
				"iam.studio-operator.io/v1alpha1 StudioUser sam Suspended",
				"iam.studio-operator.io/v1alpha1 StudioUser sofia Active",
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
	t.Run("jsonpath", func(t *testing.T) {
		tc.run(t, "users", "-l", orgLabel, "-o", "jsonpath={.items[*].status.state}").want(t, "Invited Active Active Suspended Active", "", 0)
	})
	t.Run("none found", func(t *testing.T) {
		tc.run(t, "users", "-l", "plugin-test=nobody").want(t, "", "No resources found\n", 0)
	})
	t.Run("bad output", func(t *testing.T) {
		r := tc.run(t, "users", "-o", "csv")
		if r.code != 1 || !strings.HasPrefix(r.errOut, `error: unable to match a printer suitable for the output format "csv"`) || strings.Count(r.errOut, "\n") != 1 {
			t.Errorf("got %+v, want one error line and exit 1", r)
		}
	})
}

func TestAccessCommand(t *testing.T) {
	tc := startCluster(t)

	t.Run("every environment", func(t *testing.T) {
		tc.run(t, "access", "diego").want(t, ""+
			"ENVIRONMENT             AGENCY   ROLES                      SOURCE        CAPABILITIES                            BINDINGS\n"+
			"team-sales/leadbot      acme     ContentManager,Developer   Environment   backups.manage,bots.develop,cms.write   team-sales/leadbot-developers\n"+
			"team-support/webchat    acme     Analyst                    Agency        analytics.read,crm.read                 acme/analysts\n"+
			"team-support/whatsapp   acme     Analyst                    Agency        analytics.read,crm.read                 acme/analysts\n",
			"", 0)
	})
	t.Run("one environment, agent is notified", func(t *testing.T) {
		tc.run(t, "access", "alex", "--environment", "team-support/webchat").want(t, ""+
			"ENVIRONMENT            AGENCY   ROLES   SOURCE        CAPABILITIES         BINDINGS\n"+
			"team-support/webchat   acme     Agent   Environment   inbox.reply,notify   team-support/webchat-agents\n",
			"", 0)
	})
	t.Run("environment name in the -n namespace", func(t *testing.T) {
		r := tc.run(t, "access", "sofia", "--environment", "whatsapp", "-n", "team-support", "-o", "json")
		r.want(t, r.out, "", 0)
		var got AccessView
		if err := json.Unmarshal([]byte(r.out), &got); err != nil {
			t.Fatal(err)
		}
		want := AccessView{User: "sofia", From: "cluster", Environments: []AccessEntry{{
			Environment: "team-support/whatsapp", Agency: "acme", Roles: []string{"Operator"}, Source: "Environment",
			Capabilities: []string{"crm.read", "crm.write", "inbox.history", "inbox.reply", "inbox.start", "notify"},
			Notify:       true, Bindings: []string{"team-support/whatsapp-operators"},
		}}}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
	})
	t.Run("no access in that environment", func(t *testing.T) {
		tc.run(t, "access", "ana", "--environment", "team-sales/leadbot").want(t, "", "studiouser \"ana\" has no access to environment team-sales/leadbot\n", 0)
	})
	t.Run("suspended", func(t *testing.T) {
		tc.run(t, "access", "sam").want(t, "", "studiouser \"sam\" is suspended: it has no access\n", 0)
	})
	t.Run("unknown user, like kubectl", func(t *testing.T) {
		tc.run(t, "access", "nobody").want(t, "", "Error from server (NotFound): studiousers.iam.studio-operator.io \"nobody\" not found\n", 1)
	})
	t.Run("bad environment", func(t *testing.T) {
		tc.run(t, "access", "ana", "--environment", "a/b/c").want(t, "", "error: invalid --environment \"a/b/c\": want <namespace>/<name> or <name> with -n <namespace>\n", 1)
	})
	t.Run("store not configured", func(t *testing.T) {
		tc.run(t, "access", "ana", "--from", "store").want(t, "", "error: "+errStoreNotConfigured+"\n", 1)
	})
}

func TestAccessWarnsWhenStatusIsStale(t *testing.T) {
	tc := startCluster(t)
	ctx := context.Background()
	u := &iamv1.StudioUser{ObjectMeta: metav1.ObjectMeta{Name: "stale-stan"}, Spec: iamv1.StudioUserSpec{Email: "stan@example.com"}}
	if err := tc.admin.Create(ctx, u); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tc.admin.Delete(ctx, u) })
	// Created, never reconciled: observedGeneration is still the CRD default -1.
	tc.run(t, "access", "stale-stan").want(t, "",
		"Warning: studiouser \"stale-stan\" changed since the operator last reconciled it (generation 1, observed -1); its access may be out of date\n"+
			"studiouser \"stale-stan\" has no access\n", 0)
}

func TestWhoCanCommand(t *testing.T) {
	tc := startCluster(t)

	t.Run("notify needs the role in the environment", func(t *testing.T) {
		tc.run(t, "who-can", "notify", "--environment", "team-support/webchat").want(t, ""+
			"NAME   TYPE    ROLES   SOURCE        BINDINGS\n"+
			"alex   Agent   Agent   Environment   team-support/webchat-agents\n",
			"", 0)
	})
	t.Run("capability from several roles", func(t *testing.T) {
		tc.run(t, "who-can", "crm.read", "--environment", "team-support/whatsapp").want(t, ""+
			"NAME    TYPE   ROLES      SOURCE        BINDINGS\n"+
			"ana     User   Analyst    Agency        acme/analysts\n"+
			"diego   User   Analyst    Agency        acme/analysts\n"+
			"sofia   User   Operator   Environment   team-support/whatsapp-operators\n",
			"", 0)
	})
	t.Run("role, names only, namespace from -n", func(t *testing.T) {
		tc.run(t, "who-can", "Developer", "--environment", "leadbot", "-n", "team-sales", "-o", "name").want(t,
			"studiouser.iam.studio-operator.io/diego\n", "", 0)
	})
	t.Run("json", func(t *testing.T) {
		r := tc.run(t, "who-can", "Analyst", "--environment", "team-support/webchat", "-o", "json")
		r.want(t, r.out, "", 0)
		var got WhoCanView
		if err := json.Unmarshal([]byte(r.out), &got); err != nil {
			t.Fatal(err)
		}
		want := WhoCanView{Environment: "team-support/webchat", Question: Question{Role: "Analyst"}, Users: []WhoCanEntry{
			{Name: "ana", Type: "User", Roles: []string{"Analyst"}, Source: "Agency", Bindings: []string{"acme/analysts"}},
			{Name: "diego", Type: "User", Roles: []string{"Analyst"}, Source: "Agency", Bindings: []string{"acme/analysts"}},
		}}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
	})
	t.Run("nobody", func(t *testing.T) {
		tc.run(t, "who-can", "Planner", "--environment", "team-sales/leadbot").want(t, "", "No user has role Planner in environment team-sales/leadbot\n", 0)
	})
	t.Run("unknown environment", func(t *testing.T) {
		tc.run(t, "who-can", "Agent", "--environment", "team-sales/webchat").want(t, "", "Error from server (NotFound): environments.iam.studio-operator.io \"webchat\" not found\n", 1)
	})
	t.Run("environment required", func(t *testing.T) {
		tc.run(t, "who-can", "Agent").want(t, "", "error: "+errEnvironmentRequired+"\n", 1)
	})
}

func TestInviteLinkCommand(t *testing.T) {
	tc := startCluster(t)

	t.Run("pending invitation", func(t *testing.T) {
		tc.run(t, "invite-link", "alex").want(t, "http://127.0.0.1:9/invite/test-link-token-alex\n", "", 0)
	})
	t.Run("accepted", func(t *testing.T) {
		tc.run(t, "invite-link", "ana").want(t, "", "error: no invitation link for studiouser \"ana\": the invitation was accepted\n", 1)
	})
	t.Run("SSO user", func(t *testing.T) {
		tc.run(t, "invite-link", "sofia").want(t, "", "error: no invitation link for studiouser \"sofia\": invitations are off for this user (spec.invitation.send: false, e.g. SSO)\n", 1)
	})
	t.Run("not sent yet", func(t *testing.T) {
		tc.run(t, "invite-link", "diego").want(t, "", "error: no invitation link for studiouser \"diego\": no invitation has been sent yet (the user needs at least one role)\n", 1)
	})
	t.Run("other operator namespace", func(t *testing.T) {
		tc.run(t, "invite-link", "alex", "--studio-namespace", "acme").want(t, "", "error: no invitation link for studiouser \"alex\": Secret acme/studio-invitation-alex does not exist\n", 1)
	})
	t.Run("unknown user", func(t *testing.T) {
		tc.run(t, "invite-link", "nobody").want(t, "", "Error from server (NotFound): studiousers.iam.studio-operator.io \"nobody\" not found\n", 1)
	})
}

func TestResendCommand(t *testing.T) {
	tc := startCluster(t)
	ctx := context.Background()
	u := &iamv1.StudioUser{ObjectMeta: metav1.ObjectMeta{Name: "rita"}, Spec: iamv1.StudioUserSpec{Email: "rita@example.com"}}
	if err := tc.admin.Create(ctx, u); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tc.admin.Delete(ctx, u) })

	tc.run(t, "resend", "rita").want(t, "studiouser.iam.studio-operator.io/rita invitation resend requested (resend=1)\n", "", 0)
	tc.run(t, "resend", "rita").want(t, "studiouser.iam.studio-operator.io/rita invitation resend requested (resend=2)\n", "", 0)

	if err := tc.admin.Get(ctx, client.ObjectKeyFromObject(u), u); err != nil {
		t.Fatal(err)
	}
	if u.Spec.Invitation.Resend != 2 || u.Generation != 3 {
		t.Errorf("spec.invitation.resend = %d at generation %d, want 2 at 3", u.Spec.Invitation.Resend, u.Generation)
	}
	var managers []string
	for _, mf := range u.ManagedFields {
		if mf.Operation == metav1.ManagedFieldsOperationUpdate && strings.Contains(string(mf.FieldsV1.Raw), "resend") {
			managers = append(managers, mf.Manager)
		}
	}
	if diff := cmp.Diff([]string{fieldManager}, managers); diff != "" {
		t.Errorf("managers of spec.invitation.resend (-want +got):\n%s", diff)
	}

	t.Run("SSO user gets a warning", func(t *testing.T) {
		sso := &iamv1.StudioUser{
			ObjectMeta: metav1.ObjectMeta{Name: "sso-sue"},
			Spec:       iamv1.StudioUserSpec{Email: "sue@example.com", Invitation: iamv1.Invitation{Send: ptr.To(false)}},
		}
		if err := tc.admin.Create(ctx, sso); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = tc.admin.Delete(ctx, sso) })
		tc.run(t, "resend", "sso-sue").want(t,
			"studiouser.iam.studio-operator.io/sso-sue invitation resend requested (resend=1)\n",
			"Warning: studiouser \"sso-sue\" has spec.invitation.send: false; the operator sends it no invitation\n", 0)
	})
	t.Run("unknown user", func(t *testing.T) {
		tc.run(t, "resend", "nobody").want(t, "", "Error from server (NotFound): studiousers.iam.studio-operator.io \"nobody\" not found\n", 1)
	})
}

// TestForbidden uses real RBAC: bob has no role, and --as makes the admin act as bob.
func TestForbidden(t *testing.T) {
	tc := startCluster(t)
	forbidden := "Error from server (Forbidden): studiousers.iam.studio-operator.io is forbidden: User \"bob\" cannot list resource \"studiousers\" in API group \"iam.studio-operator.io\" at the cluster scope\n"

	t.Run("own kubeconfig", func(t *testing.T) {
		tc.runWith(t, Options{}, "users", "--kubeconfig", tc.bobKubeconfig).want(t, "", forbidden, 1)
	})
	t.Run("impersonated with --as", func(t *testing.T) {
		tc.run(t, "users", "--as", "bob").want(t, "", forbidden, 1)
	})
	t.Run("secret", func(t *testing.T) {
		// Reading a StudioUser is not enough to read its invitation link.
		r := tc.run(t, "invite-link", "alex", "--as", "bob")
		r.want(t, "", r.errOut, 1)
		if !strings.HasPrefix(r.errOut, "Error from server (Forbidden): ") || strings.Count(r.errOut, "\n") != 1 {
			t.Errorf("stderr %q, want one Forbidden line", r.errOut)
		}
	})
}
