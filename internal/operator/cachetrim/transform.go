package cachetrim

import (
	"unique"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	iamv1 "github.com/studio-operator/studio-operator/api/v1alpha1"
)

// New returns the cache transform of a manager that writes as field manager self.
// It changes each object in place:
//
//   - managedFields keep only what the operator's provenance reads: the manager,
//     operation and time of each entry of someone else's edit of the object itself.
//     The field sets go, and so do the status-subresource entries and self's own,
//     which provenance skips;
//   - kubectl's last-applied-configuration annotation goes (a second copy of the
//     object);
//   - strings that many objects repeat (namespaces, field managers, condition types,
//     reasons and messages, roles, environment, agency, binding and user names) are
//     interned, so that the cache holds each once instead of once per object;
//   - slices that the decoder grew by doubling are cut to their length;
//   - a StudioUser's status.access is replaced by its fingerprint (AccessAnnotation).
//
// Objects in the cache are never modified by their readers: the cache hands out
// copies, and lists that skip the copy are read-only. Sharing strings between them is
// therefore safe, and a copy shares them too.
func New(self string) func(any) (any, error) {
	t := trimmer{self: self}
	return t.transform
}

type trimmer struct{ self string }

func (t trimmer) transform(obj any) (any, error) {
	o, ok := obj.(metav1.Object)
	if !ok {
		return obj, nil
	}
	t.meta(o)
	switch v := obj.(type) {
	case *iamv1.StudioUser:
		v.Name = in(v.Name)
		studioUser(v)
	case *iamv1.RoleBinding:
		roleBinding(v)
	case *iamv1.Environment:
		common(&v.Status.CommonStatus)
		v.Spec.AgencyRef.Name = in(v.Spec.AgencyRef.Name)
		v.Status.Agency = in(v.Status.Agency)
	case *iamv1.Agency:
		common(&v.Status.CommonStatus)
	}
	return obj, nil
}

// meta trims and interns the object's metadata.
func (t trimmer) meta(o metav1.Object) {
	o.SetNamespace(in(o.GetNamespace()))
	if entries := o.GetManagedFields(); len(entries) > 0 {
		kept := make([]metav1.ManagedFieldsEntry, 0, len(entries))
		for _, e := range entries {
			if e.Subresource != "" || e.Manager == t.self {
				continue
			}
			e.Manager, e.Operation, e.APIVersion, e.FieldsType = in(e.Manager), in(e.Operation), in(e.APIVersion), in(e.FieldsType)
			e.FieldsV1 = nil
			kept = append(kept, e)
		}
		if len(kept) == 0 {
			kept = nil
		}
		o.SetManagedFields(kept)
	}
	if a := o.GetAnnotations(); a != nil {
		delete(a, lastAppliedAnnotation)
		o.SetAnnotations(internMap(a))
	}
	if l := o.GetLabels(); l != nil {
		o.SetLabels(internMap(l))
	}
	if f := o.GetFinalizers(); len(f) > 0 {
		o.SetFinalizers(internAll(f))
	}
	if refs := o.GetOwnerReferences(); len(refs) > 0 {
		refs = exact(refs)
		for i := range refs {
			refs[i].APIVersion, refs[i].Kind = in(refs[i].APIVersion), in(refs[i].Kind)
		}
		o.SetOwnerReferences(refs)
	}
}

// lastAppliedAnnotation is where `kubectl apply` keeps the configuration it applied.
const lastAppliedAnnotation = "kubectl.kubernetes.io/last-applied-configuration"

func common(st *iamv1.CommonStatus) {
	st.Conditions = exact(st.Conditions)
	for i := range st.Conditions {
		c := &st.Conditions[i]
		c.Type, c.Status, c.Reason, c.Message = in(c.Type), in(c.Status), in(c.Reason), in(c.Message)
	}
}

func studioUser(u *iamv1.StudioUser) {
	u.Spec.Type, u.Spec.Locale = in(u.Spec.Type), in(u.Spec.Locale)
	st := &u.Status
	common(&st.CommonStatus)
	st.StudioID, st.State = in(st.StudioID), in(st.State)
	if inv := st.Invitation; inv != nil {
		inv.State = in(inv.State)
	}
	stripAccess(u)
}

func roleBinding(b *iamv1.RoleBinding) {
	b.Spec.Scope.Agency, b.Spec.Scope.Environment = in(b.Spec.Scope.Agency), in(b.Spec.Scope.Environment)
	b.Spec.Roles = internAll(b.Spec.Roles)
	b.Spec.Subjects = exact(b.Spec.Subjects)
	for i := range b.Spec.Subjects {
		b.Spec.Subjects[i].Name = in(b.Spec.Subjects[i].Name)
	}
	st := &b.Status
	common(&st.CommonStatus)
	st.Agency, st.Environment = in(st.Agency), in(st.Environment)
	st.Subjects = exact(st.Subjects)
	for i := range st.Subjects {
		s := &st.Subjects[i]
		s.Name, s.Reason = in(s.Name), in(s.Reason)
	}
}

// in returns the canonical copy of s. The canonical copies are held weakly: one that
// no object uses any more is dropped by the garbage collector.
func in[S ~string](s S) S {
	if s == "" {
		return s
	}
	return S(unique.Make(string(s)).Value())
}

// internAll interns every element of s, in a slice of exactly its length.
func internAll[S ~string](s []S) []S {
	s = exact(s)
	for i := range s {
		s[i] = in(s[i])
	}
	return s
}

// internMap returns m with its keys and values interned.
func internMap(m map[string]string) map[string]string {
	if len(m) == 0 {
		return m
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[in(k)] = in(v)
	}
	return out
}

// exact returns s in a backing array of exactly its length, so that the spare
// capacity the decoder left is not kept alive.
func exact[T any](s []T) []T {
	if cap(s) == len(s) {
		return s
	}
	if len(s) == 0 {
		return nil
	}
	return append(make([]T, 0, len(s)), s...)
}
