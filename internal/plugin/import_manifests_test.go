package plugin

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation"

	iamv1 "github.com/studio-operator/studio-operator/api/v1alpha1"
	"github.com/studio-operator/studio-operator/internal/cascade"
	"github.com/studio-operator/studio-operator/internal/store"
)

var importCl = ImportCluster{
	HomeNamespaces: map[string]string{"acme": "acme-home"},
	Environments: map[string]types.NamespacedName{
		"team-support.webchat": {Namespace: "team-support", Name: "webchat"},
		"legacy-key":           {Namespace: "team-sales", Name: "leadbot"}, // a status.studioKey
	},
}

func storeUser(key string, state store.UserState) store.User {
	return store.User{Key: key, Email: key + "@example.com", Type: cascade.UserTypeUser, State: state}
}

func agencyGrant(a string, roles ...cascade.Role) store.Grant {
	return store.Grant{Scope: store.Scope{Agency: a}, Roles: roles}
}

func envGrant(key string, roles ...cascade.Role) store.Grant {
	if roles == nil {
		roles = []cascade.Role{}
	}
	return store.Grant{Scope: store.Scope{Environment: key}, Roles: roles}
}

// bindingsOf sums bindings up as "namespace/name scope roles: subjects" lines.
func bindingsOf(bs []iamv1.RoleBinding) []string {
	var out []string
	for _, b := range bs {
		scope := "agency=" + b.Spec.Scope.Agency
		if b.Spec.Scope.Environment != "" {
			scope = "environment=" + b.Spec.Scope.Environment
		}
		var subjects []string
		for _, s := range b.Spec.Subjects {
			subjects = append(subjects, s.Name)
		}
		out = append(out, fmt.Sprintf("%s/%s %s [%s]: %s", b.Namespace, b.Name, scope, joinOrNone(b.Spec.Roles), strings.Join(subjects, ",")))
	}
	return out
}

func TestBuildImport(t *testing.T) {
	carol := storeUser("carol", store.UserActive)
	carol.DisplayName, carol.Locale = "Carol", "nl"
	erin := storeUser("erin", store.UserInvited)
	erin.Type = cascade.UserTypeAgent
	ivy := storeUser("ivy", store.UserSuspended)
	ivy.Suspended, ivy.ManagedBy = true, "default"
	m := BuildImport([]ImportSource{
		{User: ivy, Grants: []store.Grant{agencyGrant("acme", cascade.Analyst)}},
		{User: carol, Grants: []store.Grant{agencyGrant("acme", cascade.Analyst), envGrant("team-support.webchat")}},
		{User: erin, Grants: []store.Grant{envGrant("team-support.webchat", cascade.Agent), envGrant("legacy-key", cascade.Analyst)}},
		{User: storeUser("gus", store.UserActive), Grants: []store.Grant{agencyGrant("acme", cascade.Analyst), agencyGrant("other", cascade.Planner)}},
		{User: storeUser("hal", store.UserActive), Grants: []store.Grant{envGrant("team-x.gone", cascade.Developer)}},
		{User: storeUser("Not_A_Name", store.UserActive), Grants: []store.Grant{agencyGrant("acme", cascade.Analyst)}},
	}, importCl)

	var users []string
	for _, u := range m.Users {
		users = append(users, fmt.Sprintf("%s %s type=%s locale=%s suspended=%v send=%v", u.Name, u.Spec.Email, u.Spec.Type, u.Spec.Locale, u.Spec.Suspended, *u.Spec.Invitation.Send))
	}
	wantUsers := []string{
		"carol carol@example.com type=User locale=nl suspended=false send=false",
		"erin erin@example.com type=Agent locale= suspended=false send=false",
		"ivy ivy@example.com type=User locale= suspended=true send=false",
	}
	if diff := cmp.Diff(wantUsers, users); diff != "" {
		t.Errorf("users (-want +got):\n%s", diff)
	}
	wantBindings := []string{
		"acme-home/" + bindingName(bindingKey{agency: "acme", roles: "Analyst"}) + " agency=acme [Analyst]: carol,ivy",
		"team-sales/" + bindingName(bindingKey{environment: "leadbot", roles: "Analyst"}) + " environment=leadbot [Analyst]: erin",
		"team-support/" + bindingName(bindingKey{environment: "webchat", roles: "Agent"}) + " environment=webchat [Agent]: erin",
		"team-support/" + bindingName(bindingKey{environment: "webchat"}) + " environment=webchat [-]: carol",
	}
	got := bindingsOf(m.Bindings)
	// Sorted by namespace, then name: the two webchat bindings are in hash order.
	if len(got) == 4 && got[2] > got[3] {
		wantBindings[2], wantBindings[3] = wantBindings[3], wantBindings[2]
	}
	if diff := cmp.Diff(wantBindings, got); diff != "" {
		t.Errorf("bindings (-want +got):\n%s", diff)
	}
	for _, b := range m.Bindings {
		if b.Spec.Roles == nil {
			t.Errorf("%s: roles is nil; a block must be written as roles: []", b.Name)
		}
	}
	wantWarnings := []string{
		`Studio user "Not_A_Name" is left out: its key is not a valid StudioUser name (a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*'))`,
		`user erin is an Agent: roles Analyst at environment "legacy-key" (store key) never apply to it; the RoleBinding will say so (RolesNotAllowedForAgent)`,
		`user gus is left out: its grant at agency "other" (roles Planner) has no Agency "other" in the cluster; a StudioUser for it would make the operator revoke that grant`,
		`user hal is left out: its grant at environment "team-x.gone" (store key) (roles Developer) has no Environment with that studioKey in the cluster; a StudioUser for it would make the operator revoke that grant`,
	}
	if diff := cmp.Diff(wantWarnings, m.Warnings); diff != "" {
		t.Errorf("warnings (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string][]string{
		"erin": {
			"erin is Invited in the Studio: it has not signed in yet. invitation.send is false so that",
			"applying this sends no email and leaves a pending invitation working; remove it to have",
			"the operator send a new invitation (a new link: the previous one stops working).",
		},
		"ivy": {`The Studio records ivy as managed by operator instance "default": only that instance can adopt it.`},
	}, m.Notes); diff != "" {
		t.Errorf("notes (-want +got):\n%s", diff)
	}
}

func TestBuildImportSplitsLargeGroups(t *testing.T) {
	var sources []ImportSource
	for i := range maxSubjects + 1 {
		sources = append(sources, ImportSource{User: storeUser(fmt.Sprintf("u%04d", i), store.UserActive), Grants: []store.Grant{agencyGrant("acme", cascade.Agent)}})
	}
	m := BuildImport(sources, importCl)
	if len(m.Bindings) != 2 || len(m.Bindings[0].Spec.Subjects) != maxSubjects || len(m.Bindings[1].Spec.Subjects) != 1 ||
		m.Bindings[1].Name != m.Bindings[0].Name+"-2" || m.Bindings[1].Spec.Subjects[0].Name != "u1000" {
		t.Errorf("want %d subjects then 1 in <name>-2, got %v", maxSubjects, bindingsOf(m.Bindings)[:min(2, len(m.Bindings))])
	}
}

func TestBindingName(t *testing.T) {
	a := bindingName(bindingKey{agency: "webchat", roles: "Analyst"})
	e := bindingName(bindingKey{environment: "webchat", roles: "Analyst"})
	if a == e {
		t.Errorf("an agency and an environment of the same name share %s", a)
	}
	if a != bindingName(bindingKey{agency: "webchat", roles: "Analyst"}) || !strings.HasPrefix(a, "imported-webchat-") {
		t.Errorf("name %s: want imported-webchat-<hash>, the same every time", a)
	}
	long := bindingName(bindingKey{agency: strings.Repeat("a.", 126) + "b", roles: "Agent"})
	if errs := validation.IsDNS1123Subdomain(long + "-1000"); len(errs) > 0 {
		t.Errorf("%s-1000 is not a valid name: %v", long, errs)
	}
}

func TestWriteManifests(t *testing.T) {
	erin := storeUser("erin", store.UserInvited)
	m := BuildImport([]ImportSource{{User: erin, Grants: []store.Grant{envGrant("team-support.webchat")}}}, importCl)
	var b bytes.Buffer
	if err := WriteManifests(&b, m); err != nil {
		t.Fatal(err)
	}
	want := "" +
		"# erin is Invited in the Studio: it has not signed in yet. invitation.send is false so that\n" +
		"# applying this sends no email and leaves a pending invitation working; remove it to have\n" +
		"# the operator send a new invitation (a new link: the previous one stops working).\n" +
		"apiVersion: iam.studio-operator.io/v1alpha1\n" +
		"kind: StudioUser\n" +
		"metadata:\n" +
		"  name: erin\n" +
		"spec:\n" +
		"  email: erin@example.com\n" +
		"  invitation:\n" +
		"    send: false\n" +
		"  type: User\n" +
		"---\n" +
		"apiVersion: iam.studio-operator.io/v1alpha1\n" +
		"kind: RoleBinding\n" +
		"metadata:\n" +
		"  name: " + bindingName(bindingKey{environment: "webchat"}) + "\n" +
		"  namespace: team-support\n" +
		"spec:\n" +
		"  roles: []\n" +
		"  scope:\n" +
		"    environment: webchat\n" +
		"  subjects:\n" +
		"  - name: erin\n"
	if diff := cmp.Diff(want, b.String()); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}
