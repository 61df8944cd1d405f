package crash

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	iamv1 "github.com/studio-operator/studio-operator/api/v1alpha1"
)

// Bounds of the guard scenarios.
const (
	convergeTimeout = 90 * time.Second
	reactTimeout    = 45 * time.Second
	// holdFor is how long "nothing is revoked" must stay true: several of the
	// guard's CRD checks (every 2 s) and reconciles.
	holdFor = 6 * time.Second
)

// The mass-revocation guard end to end, with the real manager and store: what an
// API server does when a CRD or a namespace goes must not empty the Studio. Right
// before each CRD goes, a user of another agency loses its access (allowed): the
// operator has just read the CRDs as present, and that answer must not outlive the
// deletion.
func TestRevocationGuardEndToEnd(t *testing.T) {
	g := startGuardStack(t)
	users := make([]string, 8)
	for i := range users {
		users[i] = fmt.Sprintf("g-%02d", i+1)
	}
	manifests := g.crdScenarioManifests(users)
	for _, o := range manifests {
		g.create(t, o)
	}
	g.converged(t)
	before := g.grants(t)

	// Each scenario starts from where the one before left the cluster.
	if !t.Run("RoleBinding CRD deleted", func(t *testing.T) {
		g.revokeJustBefore(t, "w-01")
		g.deleteCRD(t, "rolebindings.iam.studio-operator.io", true)
		g.held(t, "guard-crd", len(users))
		g.held(t, "guard-warm", 1) // w-02 loses its binding with the CRD
		g.stalledHeld(t, users, msgCRDsGone)
		g.unchanged(t, before, append(slices.Clone(users), "w-02"), holdFor)
		g.recreateCRD(t, "rolebindings.iam.studio-operator.io")
		for _, o := range manifests {
			if b, ok := o.(*iamv1.RoleBinding); ok && b.Name != "w-01" {
				g.create(t, freshCopy(b))
			}
		}
		g.converged(t)
		g.unchanged(t, before, users, 0)
		g.held(t, "guard-crd", 0)
		g.held(t, "guard-warm", 0)
	}) {
		return
	}
	if !t.Run("StudioUser CRD deleted", func(t *testing.T) {
		g.revokeJustBefore(t, "w-02")
		g.deleteCRD(t, "studiousers.iam.studio-operator.io", false)
		g.held(t, "guard-crd", len(users))
		g.stalledHeld(t, users, msgCRDsGone)
		g.unchanged(t, before, users, holdFor)
		g.terminating(t, users)
		// The finalizers keep the users, and so the CRD, until someone decides: here
		// the administrator finishes the deletion without touching the Studio by
		// removing them, and the CRD goes.
		for _, u := range append(slices.Clone(users), "w-01", "w-02") {
			err := mergePatch(g.ctx, g.cp.c, &iamv1.StudioUser{ObjectMeta: metav1.ObjectMeta{Name: u}},
				map[string]any{"metadata": map[string]any{"finalizers": nil}})
			if client.IgnoreNotFound(err) != nil {
				t.Fatalf("remove the finalizer of %s: %v", u, err)
			}
		}
		g.crdGone(t, "studiousers.iam.studio-operator.io")
		g.unchanged(t, before, users, 2*time.Second)
		g.recreateCRD(t, "studiousers.iam.studio-operator.io")
		for _, o := range manifests {
			if u, ok := o.(*iamv1.StudioUser); ok && slices.Contains(users, u.Name) {
				g.create(t, freshCopy(u))
			}
		}
		// The users without access, w-01 and w-02, are not applied again.
		g.gone = []string{"w-01", "w-02"}
		g.converged(t)
		g.unchanged(t, before, users, 0)
		g.held(t, "guard-crd", 0)
	}) {
		return
	}
	t.Run("namespace of the agency's bindings deleted", func(t *testing.T) {
		g.namespaceScenario(t)
	})
}

// crdScenarioManifests: agency guard-crd (default guard: max(5, 20%)), one
// Environment, the users, an agency-wide binding naming them all and an environment
// binding naming three; and agency guard-warm with users w-01 and w-02, each with a
// binding of its own (named after it) to lose right before a CRD goes.
func (g *guardStack) crdScenarioManifests(users []string) []client.Object {
	var objs []client.Object
	for _, a := range []string{"guard-crd", "guard-warm"} {
		objs = append(objs,
			namespaceObj(a),
			&iamv1.Agency{ObjectMeta: metav1.ObjectMeta{Name: a}, Spec: iamv1.AgencySpec{DisplayName: "Guard", HomeNamespace: a}},
			&iamv1.Environment{ObjectMeta: metav1.ObjectMeta{Namespace: a, Name: "env-1"},
				Spec: iamv1.EnvironmentSpec{AgencyRef: iamv1.LocalObjectReference{Name: a}, DisplayName: "Bot"}})
	}
	for _, u := range append(slices.Clone(users), "w-01", "w-02") {
		objs = append(objs, studioUser(u))
	}
	return append(objs,
		roleBinding("guard-crd", "team", "guard-crd", false, users, []iamv1.Role{iamv1.RoleAnalyst}),
		roleBinding("guard-crd", "ops", "env-1", true, users[:3], []iamv1.Role{iamv1.RoleOperator, iamv1.RolePlanner}),
		roleBinding("guard-warm", "w-01", "guard-warm", false, []string{"w-01"}, []iamv1.Role{iamv1.RoleDeveloper}),
		roleBinding("guard-warm", "w-02", "guard-warm", false, []string{"w-02"}, []iamv1.Role{iamv1.RoleDeveloper}))
}

// revokeJustBefore deletes the binding of guard-warm user u and waits until the store
// shows u without access: the operator decided a revocation with its CRDs present a
// moment ago.
func (g *guardStack) revokeJustBefore(t *testing.T, u string) {
	t.Helper()
	rb := &iamv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: "guard-warm", Name: u}}
	if err := g.cp.c.Delete(g.ctx, rb); err != nil {
		t.Fatal(err)
	}
	g.eventually(t, reactTimeout, u+" revoked", func() (bool, string, error) {
		n, err := g.withoutAccess([]string{u})
		return n == 1, "", err
	})
}

// namespaceScenario: agency guard-ns keeps its agency-wide bindings in its home
// namespace and its Environment elsewhere (environmentNamespaces All); its guard lets
// max(2, 25% of 12) = 3 users lose all their access. The namespace controller's work
// is done by hand (envtest runs none): every RoleBinding there is deleted, then the
// namespace. 11 of the 12 users would lose all their access (one keeps an
// environment binding elsewhere, and only loses its agency-wide role): 3 go, 8 are
// held until the plan is approved, and the approval lets exactly those 8 through.
func (g *guardStack) namespaceScenario(t *testing.T) {
	const a, home, envs = "guard-ns", "guard-ns-home", "guard-ns-envs"
	users := make([]string, 12)
	for i := range users {
		users[i] = fmt.Sprintf("n-%02d", i+1)
	}
	objs := []client.Object{
		namespaceObj(home), namespaceObj(envs),
		&iamv1.Agency{ObjectMeta: metav1.ObjectMeta{Name: a}, Spec: iamv1.AgencySpec{
			DisplayName: "Guarded", HomeNamespace: home,
			EnvironmentNamespaces: &iamv1.EnvironmentNamespaces{From: iamv1.NamespacesAll},
			RevocationGuard:       &iamv1.RevocationGuard{MaxPercent: ptr.To[int32](25), MinUsers: ptr.To[int32](2)},
		}},
		&iamv1.Environment{ObjectMeta: metav1.ObjectMeta{Namespace: envs, Name: "env-1"},
			Spec: iamv1.EnvironmentSpec{AgencyRef: iamv1.LocalObjectReference{Name: a}, DisplayName: "Bot"}},
	}
	for _, u := range users {
		objs = append(objs, studioUser(u))
	}
	objs = append(objs,
		roleBinding(home, "everyone", a, false, users, []iamv1.Role{iamv1.RoleAnalyst}),
		roleBinding(home, "producers", a, false, users[4:8], []iamv1.Role{iamv1.RoleProducer}),
		roleBinding(envs, "keeper", "env-1", true, users[:1], []iamv1.Role{iamv1.RoleOperator}))
	for _, o := range objs {
		g.create(t, o)
	}
	g.converged(t)
	before := g.grants(t)

	var rbs iamv1.RoleBindingList
	if err := g.cp.c.List(g.ctx, &rbs, client.InNamespace(home)); err != nil {
		t.Fatal(err)
	}
	for i := range rbs.Items {
		if err := g.cp.c.Delete(g.ctx, &rbs.Items[i]); client.IgnoreNotFound(err) != nil {
			t.Fatal(err)
		}
	}
	if err := g.cp.c.Delete(g.ctx, namespaceObj(home)); err != nil {
		t.Fatal(err)
	}

	const budget, held = 3, 8
	hash := g.held(t, a, held)
	g.eventually(t, reactTimeout, "3 users revoked, 8 held", func() (bool, string, error) {
		n, err := g.withoutAccess(users)
		return n == budget, fmt.Sprintf("%d of %d users without access", n, len(users)), err
	})
	g.consistently(t, 3*time.Second, "no more than the budget revoked", func() (bool, string, error) {
		n, err := g.withoutAccess(users)
		return n == budget, fmt.Sprintf("%d users without access", n), err
	})
	heldUsers := g.usersStalledHeld(t, users, "revocation held")
	if len(heldUsers) != held {
		t.Errorf("%d users say their revocation is held (Stalled, RevocationHeld), want %d", len(heldUsers), held)
	}

	ag := &iamv1.Agency{ObjectMeta: metav1.ObjectMeta{Name: a}}
	if err := mergePatch(g.ctx, g.cp.c, ag, map[string]any{"metadata": map[string]any{
		"annotations": map[string]any{iamv1.AnnotationApproveRevocations: hash}}}); err != nil {
		t.Fatal(err)
	}
	g.eventually(t, reactTimeout, "the approved plan goes through", func() (bool, string, error) {
		n, err := g.withoutAccess(users)
		return n == len(users)-1, fmt.Sprintf("%d of %d users without access", n, len(users)), err
	})
	g.held(t, a, 0)
	// Exactly the plan went through: the store now holds what the planner derives
	// from what is left (the kept user's environment role, nothing for the others),
	// and the other agency's users are as they were.
	k := checker{c: g.cp.c, store: g.sc, mailDir: g.st.mailDir, gone: g.gone}
	g.eventually(t, reactTimeout, "store grants = planner over the manifests left", func() (bool, string, error) {
		v, err := k.check(g.ctx, false)
		if err != nil {
			return false, "", err
		}
		return len(v[invGrants]) == 0 && len(v[invMails]) == 0, strings.Join(append(v[invGrants], v[invMails]...), "; "), nil
	})
	after := g.grants(t)
	for u, gs := range before {
		if !slices.Contains(users, u) && after[u] != gs {
			t.Errorf("user %s of another agency: grants %s before, %s after the approval", u, gs, after[u])
		}
	}
}
