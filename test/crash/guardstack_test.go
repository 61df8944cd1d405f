package crash

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	iamv1 "github.com/studio-operator/studio-operator/api/v1alpha1"
	"github.com/studio-operator/studio-operator/internal/store"
	storeclient "github.com/studio-operator/studio-operator/internal/store/client"
)

// guardStack is an API server, a store and a manager of their own, without faults:
// the scenarios delete CRDs and namespaces, which no other test may share.
type guardStack struct {
	cp  *controlPlane
	st  *storeProc
	sc  *storeclient.Client
	mgr *managerProc
	ctx context.Context
	// gone are the StudioUsers deleted for good, for the invariants.
	gone []string
}

func startGuardStack(t *testing.T) *guardStack {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	t.Cleanup(cancel)
	dir := t.TempDir()
	cp := startControlPlane(t, dir)
	st, err := newStoreProc(filepath.Join(dir, "store"))
	if err != nil {
		t.Fatal(err)
	}
	if err := st.start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Kill() })
	sc, err := storeclient.New(st.url, storeclient.Options{Token: st.token})
	if err != nil {
		t.Fatal(err)
	}
	mgr := &managerProc{dir: dir, kubeconfig: cp.kubeconfig, storeURL: st.url, token: st.token,
		extra: []string{"--resync-period", "10s"}}
	if err := mgr.start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = mgr.Kill() })
	if err := mgr.waitWorkers(ctx, 0, managerControllers, firstStartTimeout); err != nil {
		t.Fatal(redactedError(err, mgr.logPath(), st.token))
	}
	return &guardStack{cp: cp, st: st, sc: sc, mgr: mgr, ctx: ctx}
}

// create creates obj, retrying while the API server does not serve its kind yet (a
// CRD just created again).
func (g *guardStack) create(t *testing.T, obj client.Object) {
	t.Helper()
	g.eventually(t, reactTimeout, "create "+kindOf(obj)+" "+obj.GetName(), func() (bool, string, error) {
		err := g.cp.c.Create(g.ctx, obj)
		switch {
		case err == nil || apierrors.IsAlreadyExists(err):
			return true, "", nil
		case meta.IsNoMatchError(err) || apierrors.IsNotFound(err) || apierrors.IsMethodNotSupported(err):
			return false, err.Error(), nil
		}
		return false, "", err
	})
}

// freshCopy is obj as its manifest: without the server's metadata and status.
func freshCopy[T client.Object](obj T) T {
	c := obj.DeepCopyObject().(T)
	c.SetResourceVersion("")
	c.SetUID("")
	c.SetCreationTimestamp(metav1.Time{})
	c.SetGeneration(0)
	c.SetManagedFields(nil)
	c.SetFinalizers(nil)
	c.SetDeletionTimestamp(nil)
	switch o := any(c).(type) {
	case *iamv1.StudioUser:
		o.Status = iamv1.StudioUserStatus{}
	case *iamv1.RoleBinding:
		o.Status = iamv1.RoleBindingStatus{}
	}
	return c
}

// converged waits until every invariant holds (audit chain included).
func (g *guardStack) converged(t *testing.T) {
	t.Helper()
	k := checker{c: g.cp.c, store: g.sc, mailDir: g.st.mailDir, gone: g.gone}
	v, err := settle(g.ctx, k, convergeTimeout)
	if err != nil {
		t.Fatal(err)
	}
	if !v.ok() {
		t.Fatalf("not converged within %s:\n%s\nmanager log (redacted tail):\n%s", convergeTimeout, v.summary(), redactedTail(g.mgr.logPath(), 30, g.st.token))
	}
}

// grants is every store user's grant set, as text.
func (g *guardStack) grants(t *testing.T) map[string]string {
	t.Helper()
	all, err := g.sc.ListAllGrants(g.ctx, store.GrantFilter{})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, ug := range all {
		out[ug.User] = grantsString(ug.Grants)
	}
	return out
}

// unchanged checks that the store's grants of users are as before, and that none
// of them was removed, for d (once when d is 0): nothing revoked.
func (g *guardStack) unchanged(t *testing.T, before map[string]string, users []string, d time.Duration) {
	t.Helper()
	check := func() (bool, string, error) {
		now := g.grants(t)
		for _, u := range users {
			if now[u] != before[u] {
				return false, fmt.Sprintf("user %s: grants %s, before %s", u, now[u], before[u]), nil
			}
			su, err := g.sc.GetUser(g.ctx, u)
			if err != nil {
				return false, "", err
			}
			if su.State == store.UserRemoved {
				return false, fmt.Sprintf("user %s was removed from the Studio", u), nil
			}
		}
		return true, "", nil
	}
	if d == 0 {
		ok, why, err := check()
		if err != nil || !ok {
			t.Fatalf("the store's grants changed: %s %v", why, err)
		}
		return
	}
	g.consistently(t, d, "nothing revoked", check)
}

// held waits until agency a reports n held revocations (condition RevocationHeld and
// status.heldRevocations.users; none of either for 0) and returns the plan hash.
func (g *guardStack) held(t *testing.T, a string, n int) string {
	t.Helper()
	var hash string
	g.eventually(t, reactTimeout, fmt.Sprintf("agency %s holds %d revocations", a, n), func() (bool, string, error) {
		ag := &iamv1.Agency{}
		if err := g.cp.c.Get(g.ctx, client.ObjectKey{Name: a}, ag); err != nil {
			return false, "", err
		}
		c := meta.FindStatusCondition(ag.Status.Conditions, iamv1.ConditionRevocationHeld)
		h := ag.Status.HeldRevocations
		got := fmt.Sprintf("heldRevocations %+v, RevocationHeld %v, Ready %s", h, c != nil, readyOf(ag.Status.Conditions))
		if n == 0 {
			return h == nil && c == nil, got, nil
		}
		if h == nil || int(h.Users) != n || c == nil || c.Status != metav1.ConditionTrue || c.Reason != iamv1.ReasonRevocationHeld {
			return false, got, nil
		}
		hash = h.PlanHash
		return strings.HasPrefix(hash, "sha256:"), got, nil
	})
	return hash
}

func readyOf(conds []metav1.Condition) string {
	if c := meta.FindStatusCondition(conds, iamv1.ConditionReady); c != nil {
		return string(c.Status) + "/" + c.Reason
	}
	return "none"
}

// msgCRDsGone is what the guard says while the operator's CRDs go.
const msgCRDsGone = "CRDs are being deleted or are missing"

// stalledHeld waits until each user says its revocation is held, and why.
func (g *guardStack) stalledHeld(t *testing.T, users []string, why string) {
	t.Helper()
	g.eventually(t, reactTimeout, "every user Stalled with RevocationHeld: "+why, func() (bool, string, error) {
		held := g.usersStalledHeld(t, users, why)
		return len(held) == len(users), fmt.Sprintf("%d of %d", len(held), len(users)), nil
	})
}

// usersStalledHeld are the users with condition Stalled, reason RevocationHeld, and
// a message saying why.
func (g *guardStack) usersStalledHeld(t *testing.T, users []string, why string) []string {
	t.Helper()
	var out []string
	for _, name := range users {
		u := &iamv1.StudioUser{}
		if err := g.cp.c.Get(g.ctx, client.ObjectKey{Name: name}, u); err != nil {
			if apierrors.IsNotFound(err) {
				continue
			}
			t.Fatal(err)
		}
		if c := meta.FindStatusCondition(u.Status.Conditions, iamv1.ConditionStalled); c != nil && c.Status == metav1.ConditionTrue && c.Reason == iamv1.ReasonRevocationHeld && strings.Contains(c.Message, why) {
			out = append(out, name)
		}
	}
	return out
}

// terminating checks that every user is still there, being deleted, with the
// operator's finalizer.
func (g *guardStack) terminating(t *testing.T, users []string) {
	t.Helper()
	for _, name := range users {
		u := &iamv1.StudioUser{}
		if err := g.cp.c.Get(g.ctx, client.ObjectKey{Name: name}, u); err != nil {
			t.Fatalf("user %s: %v (its finalizer should keep it)", name, err)
		}
		if u.DeletionTimestamp.IsZero() || len(u.Finalizers) == 0 {
			t.Errorf("user %s: deletionTimestamp %v, finalizers %v; want Terminating, held by the finalizer", name, u.DeletionTimestamp, u.Finalizers)
		}
	}
}

// withoutAccess counts the users whose store grants give no role.
func (g *guardStack) withoutAccess(users []string) (int, error) {
	n := 0
	for _, u := range users {
		gs, err := g.sc.GetGrants(g.ctx, u)
		if err != nil {
			return 0, err
		}
		if !slices.ContainsFunc(gs.Grants, func(gr store.Grant) bool { return len(gr.Roles) > 0 }) {
			n++
		}
	}
	return n, nil
}

// deleteCRD deletes a CRD; with waitGone it waits until the API server has deleted
// its objects and the CRD itself.
func (g *guardStack) deleteCRD(t *testing.T, name string, waitGone bool) {
	t.Helper()
	crd := &apiextensionsv1.CustomResourceDefinition{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if err := g.cp.c.Delete(g.ctx, crd); err != nil {
		t.Fatalf("delete CRD %s: %v", name, err)
	}
	if waitGone {
		g.crdGone(t, name)
	}
}

func (g *guardStack) crdGone(t *testing.T, name string) {
	t.Helper()
	g.eventually(t, reactTimeout, "CRD "+name+" gone", func() (bool, string, error) {
		err := g.cp.c.Get(g.ctx, client.ObjectKey{Name: name}, &apiextensionsv1.CustomResourceDefinition{})
		if apierrors.IsNotFound(err) {
			return true, "", nil
		}
		return false, "still there", err
	})
}

// recreateCRD installs the embedded CRD again and waits until it is Established.
func (g *guardStack) recreateCRD(t *testing.T, name string) {
	t.Helper()
	crd, err := g.cp.crdNamed(name)
	if err != nil {
		t.Fatal(err)
	}
	if err := g.cp.c.Create(g.ctx, crd); err != nil {
		t.Fatalf("create CRD %s again: %v", name, err)
	}
	g.eventually(t, reactTimeout, "CRD "+name+" Established", func() (bool, string, error) {
		got := &apiextensionsv1.CustomResourceDefinition{}
		if err := g.cp.c.Get(g.ctx, client.ObjectKey{Name: name}, got); err != nil {
			return false, "", err
		}
		for _, c := range got.Status.Conditions {
			if c.Type == apiextensionsv1.Established && c.Status == apiextensionsv1.ConditionTrue {
				return true, "", nil
			}
		}
		return false, "not Established", nil
	})
}

// eventually polls cond every 200ms until it holds; failing after timeout with
// cond's last word. An error from cond fails at once.
func (g *guardStack) eventually(t *testing.T, timeout time.Duration, what string, cond func() (bool, string, error)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, why, err := cond()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s (%s)\nmanager log (redacted tail):\n%s", what, timeout, why, redactedTail(g.mgr.logPath(), 30, g.st.token))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// consistently checks cond every 200ms for d.
func (g *guardStack) consistently(t *testing.T, d time.Duration, what string, cond func() (bool, string, error)) {
	t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		ok, why, err := cond()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if !ok {
			t.Fatalf("%s: %s", what, why)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
