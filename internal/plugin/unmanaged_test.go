package plugin

import (
	"cmp"
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	iamv1 "github.com/studio-operator/studio-operator/api/v1alpha1"
	"github.com/studio-operator/studio-operator/internal/cascade"
	"github.com/studio-operator/studio-operator/internal/store"
)

// seedUnmanaged fills the store with the seeded organisation's agency and
// environments and users the cluster has no StudioUser for (except ana, who has one):
// people added in the Studio itself (no manager), one the operator once managed.
func seedUnmanaged(t *testing.T, s *testStore) {
	t.Helper()
	ctx := context.Background()
	op := store.Caller{Actor: "operator", Manager: "default"}
	studio := store.Caller{Actor: "admin"} // a person working in the Studio
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, a := range []string{"acme", "other"} {
		_, _, err := s.svc.PutAgency(ctx, op, a, store.AgencySpec{DisplayName: strings.ToUpper(a)})
		must(err)
	}
	for _, e := range []string{"team-support.webchat", "team-support.whatsapp", "team-sales.leadbot"} {
		_, _, err := s.svc.PutEnvironment(ctx, op, e, store.EnvironmentSpec{Agency: "acme"})
		must(err)
	}
	users := []struct {
		key     string
		caller  store.Caller
		spec    store.UserSpec
		grants  []store.Grant
		active  bool
		removed bool
	}{
		{key: "ana", caller: op, spec: store.UserSpec{Email: "ana@example.com", Type: cascade.UserTypeUser},
			grants: []store.Grant{agencyGrant("acme", cascade.Analyst)}, active: true},
		{key: "carol", caller: studio, spec: store.UserSpec{Email: "carol@example.com", DisplayName: "Carol", Type: cascade.UserTypeUser, Locale: "nl"},
			grants: []store.Grant{agencyGrant("acme", cascade.Analyst)}, active: true},
		{key: "dave", caller: studio, spec: store.UserSpec{Email: "dave@example.com", Type: cascade.UserTypeUser},
			grants: []store.Grant{agencyGrant("acme", cascade.Analyst), envGrant("team-support.webchat")}, active: true},
		{key: "erin", caller: studio, spec: store.UserSpec{Email: "erin@example.com", Type: cascade.UserTypeAgent},
			grants: []store.Grant{envGrant("team-support.webchat", cascade.Agent)}},
		{key: "fred", caller: studio, spec: store.UserSpec{Email: "fred@example.com", Type: cascade.UserTypeUser},
			grants: []store.Grant{agencyGrant("acme", cascade.Analyst)}, removed: true},
		{key: "gus", caller: studio, spec: store.UserSpec{Email: "gus@example.com", Type: cascade.UserTypeUser},
			grants: []store.Grant{agencyGrant("acme", cascade.Developer), agencyGrant("other", cascade.Planner)}, active: true},
		{key: "hana", caller: op, spec: store.UserSpec{Email: "hana@example.com", Type: cascade.UserTypeUser},
			grants: []store.Grant{agencyGrant("acme", cascade.Analyst, cascade.OrganisationManager), envGrant("team-sales.leadbot", cascade.ContentManager, cascade.Developer)}, active: true},
		{key: "ivy", caller: studio, spec: store.UserSpec{Email: "ivy@example.com", Type: cascade.UserTypeUser, Suspended: true},
			grants: []store.Grant{agencyGrant("acme", cascade.Analyst)}},
		{key: "jack", caller: studio, spec: store.UserSpec{Email: "jack@example.com", Type: cascade.UserTypeUser},
			grants: []store.Grant{agencyGrant("other", cascade.Analyst)}, active: true},
	}
	for _, u := range users {
		_, _, err := s.svc.PutUser(ctx, u.caller, u.key, u.spec)
		must(err)
		_, err = s.svc.PutGrants(ctx, u.caller, u.key, u.grants)
		must(err)
		if u.active {
			_, err = s.svc.RecordActivity(ctx, u.caller, u.key)
			must(err)
		}
		if u.removed {
			_, err = s.svc.RemoveUser(ctx, u.caller, u.key)
			must(err)
		}
	}
}

// decodeManifests reads the ---separated documents of unmanaged -o yaml.
func decodeManifests(t *testing.T, out string) ([]iamv1.StudioUser, []iamv1.RoleBinding) {
	t.Helper()
	var users []iamv1.StudioUser
	var bindings []iamv1.RoleBinding
	for _, doc := range strings.Split(out, "\n---\n") {
		var meta struct{ Kind string }
		if err := yaml.Unmarshal([]byte(doc), &meta); err != nil {
			t.Fatalf("document %q: %v", doc, err)
		}
		switch meta.Kind {
		case "StudioUser":
			var u iamv1.StudioUser
			if err := yaml.UnmarshalStrict([]byte(doc), &u); err != nil {
				t.Fatalf("StudioUser %q: %v", doc, err)
			}
			users = append(users, u)
		case "RoleBinding":
			var b iamv1.RoleBinding
			if err := yaml.UnmarshalStrict([]byte(doc), &b); err != nil {
				t.Fatalf("RoleBinding %q: %v", doc, err)
			}
			bindings = append(bindings, b)
		default:
			t.Fatalf("document of kind %q:\n%s", meta.Kind, doc)
		}
	}
	return users, bindings
}

// grantsFromBindings is the grant set each subject of bindings gets, as the
// operator writes it to the store: agency scope by agency, environment scope by the
// environment's store key, roles sorted; an empty list (a block) kept.
func grantsFromBindings(bindings []iamv1.RoleBinding) map[string][]store.Grant {
	byUser := map[string]map[store.Scope][]cascade.Role{}
	for _, b := range bindings {
		sc := store.Scope{Agency: b.Spec.Scope.Agency}
		if b.Spec.Scope.Environment != "" {
			sc = store.Scope{Environment: b.Namespace + "." + b.Spec.Scope.Environment}
		}
		for _, s := range b.Spec.Subjects {
			if byUser[s.Name] == nil {
				byUser[s.Name] = map[store.Scope][]cascade.Role{}
			}
			roles := byUser[s.Name][sc]
			if roles == nil {
				roles = []cascade.Role{}
			}
			for _, r := range b.Spec.Roles {
				roles = append(roles, cascade.Role(r))
			}
			byUser[s.Name][sc] = roles
		}
	}
	out := map[string][]store.Grant{}
	for u, scopes := range byUser {
		for sc, roles := range scopes {
			slices.Sort(roles)
			out[u] = append(out[u], store.Grant{Scope: sc, Roles: slices.Compact(roles)})
		}
		// The store's order: agency scopes first, then environments, each by key.
		envScope := func(g store.Grant) int {
			if g.Scope.Environment != "" {
				return 1
			}
			return 0
		}
		slices.SortFunc(out[u], func(a, b store.Grant) int {
			return cmp.Or(cmp.Compare(envScope(a), envScope(b)), cmp.Compare(a.Scope.Agency, b.Scope.Agency),
				cmp.Compare(a.Scope.Environment, b.Scope.Environment))
		})
	}
	return out
}

func TestUnmanagedCommand(t *testing.T) {
	tc := startCluster(t)
	s := startStore(t, time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC))
	seedUnmanaged(t, s)
	flags := []string{"--store-url", s.url, "--store-token-file", s.tokenFile}
	run := func(t *testing.T, args ...string) result {
		t.Helper()
		return tc.runWith(t, Options{NewStore: newStoreClient}, append(args, append(flags, "--kubeconfig", tc.adminKubeconfig)...)...)
	}

	t.Run("table from the Agency's status", func(t *testing.T) {
		keys := make([]string, 0, iamv1.MaxUnmanagedKeys)
		for i := range iamv1.MaxUnmanagedKeys {
			keys = append(keys, "u"+string(rune('a'+i/26))+string(rune('a'+i%26)))
		}
		tc.createAgency(t, "crowd", iamv1.AgencySpec{HomeNamespace: "acme"},
			iamv1.AgencyStatus{UnmanagedUsers: &iamv1.UnmanagedUsers{Count: 120, Keys: keys}})
		tc.createAgency(t, "few", iamv1.AgencySpec{HomeNamespace: "acme"},
			iamv1.AgencyStatus{UnmanagedUsers: &iamv1.UnmanagedUsers{Count: 2, Keys: []string{"zed", "carol"}}})
		tc.run(t, "unmanaged", "--agency", "few").want(t, ""+
			"agency few: 2 unmanaged users\n"+
			"USER\n"+
			"carol\n"+
			"zed\n"+
			"\n"+
			"To write StudioUsers and RoleBindings that reproduce their access: kubectl studio unmanaged --agency AGENCY -o yaml\n",
			"", 0)
		r := tc.run(t, "unmanaged")
		r.want(t, r.out, "", 0)
		if !strings.HasPrefix(r.out, "agency acme: no unmanaged users\n\nagency crowd: 120 unmanaged users (only the first 50 are shown)\nUSER\nuaa\nuab\n") ||
			!strings.Contains(r.out, "\nubx\n\nagency few: 2 unmanaged users\n") {
			t.Errorf("every agency:\n%s", r.out)
		}
	})

	t.Run("yaml reproduces exactly the store's grants", func(t *testing.T) {
		r := run(t, "unmanaged", "--agency", "acme", "-o", "yaml")
		if r.code != 0 {
			t.Fatalf("exit %d: %s", r.code, r.errOut)
		}
		wantWarning := `Warning: user gus is left out: its grant at agency "other" (roles Planner) has no Agency "other" in the cluster; a StudioUser for it would make the operator revoke that grant` + "\n"
		if r.errOut != wantWarning {
			t.Errorf("stderr %q, want %q", r.errOut, wantWarning)
		}
		users, bindings := decodeManifests(t, r.out)

		// ana has a StudioUser, fred is removed, gus cannot be reproduced, jack has no
		// access in acme.
		var names []string
		for _, u := range users {
			names = append(names, u.Name)
			if u.Spec.Invitation.Send == nil || *u.Spec.Invitation.Send {
				t.Errorf("%s: invitation.send is not false", u.Name)
			}
		}
		if diff := gocmp.Diff([]string{"carol", "dave", "erin", "hana", "ivy"}, names); diff != "" {
			t.Errorf("StudioUsers (-want +got):\n%s", diff)
		}
		if u := users[0].Spec; u.Email != "carol@example.com" || u.DisplayName != "Carol" || u.Locale != "nl" || u.Type != iamv1.UserTypeUser {
			t.Errorf("carol's spec %+v, want her profile in the Studio", u)
		}
		if users[2].Spec.Type != iamv1.UserTypeAgent || !users[4].Spec.Suspended {
			t.Errorf("erin type %s, ivy suspended %v: want Agent and true", users[2].Spec.Type, users[4].Spec.Suspended)
		}

		got := grantsFromBindings(bindings)
		for _, name := range names {
			set, err := s.svc.GetGrants(context.Background(), name)
			if err != nil {
				t.Fatal(err)
			}
			if diff := gocmp.Diff(set.Grants, got[name]); diff != "" {
				t.Errorf("%s: grants the manifests give (+) differ from the store's (-):\n%s", name, diff)
			}
			delete(got, name)
		}
		if len(got) > 0 {
			t.Errorf("bindings name users without a StudioUser: %v", got)
		}

		// The apiserver takes every object as written (schema and CEL rules: the
		// block's roles: [], OrganisationManager at agency scope only, ...).
		ctx := context.Background()
		for i := range users {
			if err := tc.admin.Create(ctx, &users[i], client.DryRunAll); err != nil {
				t.Errorf("StudioUser %s: %v", users[i].Name, err)
			}
		}
		for i := range bindings {
			if err := tc.admin.Create(ctx, &bindings[i], client.DryRunAll); err != nil {
				t.Errorf("RoleBinding %s/%s: %v", bindings[i].Namespace, bindings[i].Name, err)
			}
		}

		if !strings.Contains(r.out, "# erin is Invited in the Studio") || !strings.Contains(r.out, `# The Studio records hana as managed by operator instance "default"`) {
			t.Errorf("want the notes for erin and hana:\n%s", r.out)
		}
		if again := run(t, "unmanaged", "--agency", "acme", "-o", "yaml"); again.out != r.out {
			t.Errorf("a second run printed something else:\n%s", again.out)
		}
	})

	t.Run("every agency", func(t *testing.T) {
		r := run(t, "unmanaged", "-o", "yaml")
		users, _ := decodeManifests(t, r.out)
		if len(users) != 5 || r.code != 0 {
			t.Errorf("exit %d, %d users: want the 5 of acme (the cluster has no agency other)\n%s", r.code, len(users), r.errOut)
		}
	})
	t.Run("nothing to adopt", func(t *testing.T) {
		tc.createAgency(t, "empty", iamv1.AgencySpec{HomeNamespace: "acme"}, iamv1.AgencyStatus{})
		run(t, "unmanaged", "--agency", "empty", "-o", "yaml").want(t, "", "No unmanaged users found\n", 0)
	})
	t.Run("store not configured", func(t *testing.T) {
		tc.run(t, "unmanaged", "--agency", "acme", "-o", "yaml").want(t, "", "error: "+errStoreNotConfigured+"\n", 1)
	})
	t.Run("unknown agency", func(t *testing.T) {
		tc.run(t, "unmanaged", "--agency", "nope").want(t, "", "Error from server (NotFound): agencies.iam.studio-operator.io \"nope\" not found\n", 1)
	})
	t.Run("only yaml", func(t *testing.T) {
		tc.run(t, "unmanaged", "-o", "json").want(t, "", "error: unable to match a printer suitable for the output format \"json\", allowed formats are: yaml\n", 1)
	})
}
