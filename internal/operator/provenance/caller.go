package provenance

import (
	"fmt"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/studio-operator/studio-operator/internal/store"
)

const (
	// ArgoCDTrackingAnnotation is Argo CD's resource tracking annotation:
	// "<app>:<group>/<kind>:<namespace>/<name>".
	ArgoCDTrackingAnnotation = "argocd.argoproj.io/tracking-id"
	// InstanceLabel is the label Argo CD's label-based tracking sets to the app name.
	InstanceLabel = "app.kubernetes.io/instance"

	argoCDPrefix = "argocd:"
	// maxHeaderValue keeps the headers within what the store accepts.
	maxHeaderValue = 256
)

// Caller is the store.Caller for a write that reconciles obj (of kind) as operator
// instance manager. self is the operator's own field manager, which is never the
// party on whose behalf it acts.
func Caller(kind string, obj metav1.Object, manager, self string) store.Caller {
	return store.Caller{
		Manager:    manager,
		OnBehalfOf: OnBehalfOf(obj, self),
		Source:     Source(kind, obj),
	}
}

// Source names the object and generation a write comes from:
// "<Kind>/<namespace>/<name>@<generation>" for namespaced objects and
// "<Kind>/<name>@<generation>" for cluster-scoped ones (an empty namespace segment
// would only make the string harder to read and to match).
func Source(kind string, obj metav1.Object) string {
	if ns := obj.GetNamespace(); ns != "" {
		return fmt.Sprintf("%s/%s/%s@%d", kind, ns, obj.GetName(), obj.GetGeneration())
	}
	return fmt.Sprintf("%s/%s@%d", kind, obj.GetName(), obj.GetGeneration())
}

// OnBehalfOf says who asked for the object's current state: "argocd:<app>" when Argo
// CD tracks it (tracking annotation first, then the instance label), otherwise the
// field manager that last changed the object's spec or metadata, other than self.
// Empty when nothing is known.
func OnBehalfOf(obj metav1.Object, self string) string {
	if app := gitOpsApp(obj); app != "" {
		return app
	}
	return clip(lastFieldManager(obj.GetManagedFields(), self))
}

// gitOpsApp is "argocd:<app>" for an object an Argo CD application tracks, else "".
func gitOpsApp(obj metav1.Object) string {
	if id := obj.GetAnnotations()[ArgoCDTrackingAnnotation]; id != "" {
		app, _, _ := strings.Cut(id, ":")
		if app != "" {
			return clip(argoCDPrefix + app)
		}
	}
	if app := obj.GetLabels()[InstanceLabel]; app != "" {
		return clip(argoCDPrefix + app)
	}
	return ""
}

// lastFieldManager returns the manager of the most recent entry that is not about a
// subresource (status is written by controllers, not by people) and not self. Entries
// without a time count as oldest; among equal times the later entry wins.
func lastFieldManager(entries []metav1.ManagedFieldsEntry, self string) string {
	var best *metav1.ManagedFieldsEntry
	for i := range entries {
		e := &entries[i]
		if e.Subresource != "" || e.Manager == "" || e.Manager == self {
			continue
		}
		if best == nil || !timeOf(e).Before(timeOf(best)) {
			best = e
		}
	}
	if best == nil {
		return ""
	}
	return best.Manager
}

func timeOf(e *metav1.ManagedFieldsEntry) time.Time {
	if e.Time == nil {
		return time.Time{}
	}
	return e.Time.Time
}

// clip keeps a value within the header limit; the values are names, so cutting bytes
// from the end is harmless.
func clip(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			continue
		}
		if b.Len()+len(string(r)) > maxHeaderValue {
			break
		}
		b.WriteRune(r)
	}
	return b.String()
}

// Candidate is an object that may have caused a change, with its kind. A change that
// left no field manager's trace on the object — its deletion, or a subject removed
// from a list — is known only from the event that showed it: Seen marks it, At is
// when it was seen (it counts when later than the object's own entries), and By is
// the field manager whose entry the same edit touched, "" when none did. Kubernetes
// does not record who deletes: such a change is credited to the object's GitOps
// application, else to By, never to the object's last editor.
type Candidate struct {
	Kind string
	Obj  metav1.Object
	Seen bool
	At   time.Time
	By   string
}

// Caller is the audit context of a change c caused.
func (c Candidate) Caller(manager, self string) store.Caller {
	if !c.Seen {
		return Caller(c.Kind, c.Obj, manager, self)
	}
	by := gitOpsApp(c.Obj)
	if by == "" {
		by = clip(c.By)
	}
	return store.Caller{Manager: manager, OnBehalfOf: by, Source: Source(c.Kind, c.Obj)}
}

// Deletion is the candidate for obj's deletion, seen at at (or at its
// deletionTimestamp when it has one).
func Deletion(kind string, obj metav1.Object, at time.Time) Candidate {
	if d := obj.GetDeletionTimestamp(); d != nil {
		at = d.Time
	}
	return Candidate{Kind: kind, Obj: obj, Seen: true, At: at}
}

// Edit is the candidate for the edit that turned old into cur, seen at at, for a
// change the fields of cur alone do not show (a removal). By is the field manager
// (other than self) whose entry the edit added or renewed.
func Edit(kind string, old, cur metav1.Object, at time.Time, self string) Candidate {
	before := map[string]time.Time{}
	for i := range old.GetManagedFields() {
		e := &old.GetManagedFields()[i]
		if e.Subresource == "" {
			before[e.Manager+"/"+string(e.Operation)] = timeOf(e)
		}
	}
	c := Candidate{Kind: kind, Obj: cur, Seen: true, At: at}
	var latest time.Time
	for i := range cur.GetManagedFields() {
		e := &cur.GetManagedFields()[i]
		if e.Subresource != "" || e.Manager == self || e.Manager == "" {
			continue
		}
		t, had := before[e.Manager+"/"+string(e.Operation)]
		if (!had || timeOf(e).After(t)) && !timeOf(e).Before(latest) {
			c.By, latest = e.Manager, timeOf(e)
		}
	}
	return c
}

// LastChanged returns the candidate that someone other than self changed most
// recently: by the time of its latest non-status field-manager entry, or its deletion
// time. A user's grant set is computed from the user and every RoleBinding naming it,
// so the grant write is attributed to whichever of them was edited last — the binding
// a GitOps sync just changed rather than the user it names. Ties and unknown times
// keep the earlier candidate: list the object being reconciled first. It returns the
// zero Candidate only when there are none.
func LastChanged(self string, candidates ...Candidate) Candidate {
	var best Candidate
	var bestAt time.Time
	for i, c := range candidates {
		at := changedAt(c.Obj, self)
		if c.Seen && c.At.After(at) {
			at = c.At
		}
		if i == 0 || at.After(bestAt) {
			best, bestAt = c, at
		}
	}
	return best
}

// changedAt is when obj was last changed by someone other than self.
func changedAt(obj metav1.Object, self string) time.Time {
	var at time.Time
	entries := obj.GetManagedFields()
	for i := range entries {
		e := &entries[i]
		if e.Subresource != "" || e.Manager == self {
			continue
		}
		if t := timeOf(e); t.After(at) {
			at = t
		}
	}
	if d := obj.GetDeletionTimestamp(); d != nil && d.After(at) {
		at = d.Time
	}
	return at
}
