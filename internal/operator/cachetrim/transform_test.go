package cachetrim_test

import (
	"encoding/json"
	"testing"
	"time"
	"unsafe"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	iamv1 "github.com/studio-operator/studio-operator/api/v1alpha1"
	"github.com/studio-operator/studio-operator/internal/operator/cachetrim"
	"github.com/studio-operator/studio-operator/internal/operator/provenance"
)

const self = "studio-operator"

func at(sec int) *metav1.Time {
	t := metav1.NewTime(time.Date(2026, 12, 1, 10, 0, sec, 0, time.UTC))
	return &t
}

// decoded returns a fresh decoded copy of obj, as the informer gets it: every string
// its own allocation.
func decoded[T any](t *testing.T, obj *T) *T {
	t.Helper()
	b, err := json.Marshal(obj)
	if err != nil {
		t.Fatal(err)
	}
	out := new(T)
	if err := json.Unmarshal(b, out); err != nil {
		t.Fatal(err)
	}
	return out
}

func transform[T any](t *testing.T, obj *T) *T {
	t.Helper()
	got, err := cachetrim.New(self)(obj)
	if err != nil {
		t.Fatal(err)
	}
	return got.(*T)
}

// The transform keeps every answer provenance gives, and drops the bulk.
func TestTransformKeepsProvenance(t *testing.T) {
	fields := &metav1.FieldsV1{Raw: []byte(`{"f:spec":{"f:subjects":{}}}`)}
	entries := [][]metav1.ManagedFieldsEntry{
		{
			{Manager: "kubectl-client-side-apply", Operation: metav1.ManagedFieldsOperationUpdate, Time: at(1), FieldsType: "FieldsV1", FieldsV1: fields},
			{Manager: "flux", Operation: metav1.ManagedFieldsOperationApply, Time: at(5), FieldsType: "FieldsV1", FieldsV1: fields},
			{Manager: self, Operation: metav1.ManagedFieldsOperationUpdate, Time: at(7), FieldsV1: fields},
			{Manager: self, Operation: metav1.ManagedFieldsOperationUpdate, Subresource: "status", Time: at(9), FieldsV1: fields},
			{Manager: "argocd-controller", Operation: metav1.ManagedFieldsOperationUpdate, Subresource: "status", Time: at(11), FieldsV1: fields},
		},
		{
			{Manager: "kubectl-client-side-apply", Operation: metav1.ManagedFieldsOperationUpdate, Time: at(3), FieldsType: "FieldsV1", FieldsV1: fields},
			{Manager: self, Operation: metav1.ManagedFieldsOperationUpdate, Time: at(12), FieldsV1: fields},
		},
		{
			{Manager: self, Operation: metav1.ManagedFieldsOperationUpdate, Subresource: "status", Time: at(9), FieldsV1: fields},
		},
		nil,
	}
	mk := func(e []metav1.ManagedFieldsEntry) *metav1.PartialObjectMetadata {
		return &metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{
			Name: "b", Namespace: "team-a", Generation: 3,
			Annotations: map[string]string{
				"kubectl.kubernetes.io/last-applied-configuration": `{"big":"copy"}`,
				"keep": "me",
			},
			ManagedFields: e,
		}}
	}
	for i, e := range entries {
		full := mk(e)
		trimmed := transform(t, decoded(t, full))
		for _, e := range trimmed.ManagedFields {
			if e.FieldsV1 != nil || e.Subresource != "" || e.Manager == self {
				t.Errorf("case %d: entry %+v kept; only others' edits of the object, without field sets, are", i, e)
			}
		}
		if _, ok := trimmed.Annotations["kubectl.kubernetes.io/last-applied-configuration"]; ok || trimmed.Annotations["keep"] != "me" {
			t.Errorf("case %d: annotations after trimming: %v", i, trimmed.Annotations)
		}
		if diff := cmp.Diff(provenance.Caller("RoleBinding", full, "m", self), provenance.Caller("RoleBinding", trimmed, "m", self)); diff != "" {
			t.Errorf("case %d: caller changed by trimming (-full +trimmed):\n%s", i, diff)
		}
		for _, old := range entries {
			before, beforeTrimmed := mk(old), transform(t, decoded(t, mk(old)))
			want := provenance.Edit("RoleBinding", before, full, time.Time{}, self)
			got := provenance.Edit("RoleBinding", beforeTrimmed, trimmed, time.Time{}, self)
			if want.By != got.By {
				t.Errorf("case %d: the edit is credited to %q after trimming, %q before", i, got.By, want.By)
			}
		}
		candidate := func(o metav1.Object) string {
			return provenance.LastChanged(self, provenance.Candidate{Kind: "RoleBinding", Obj: mk(nil)}, provenance.Candidate{Kind: "RoleBinding", Obj: o}).Obj.GetName()
		}
		if candidate(full) != candidate(trimmed) {
			t.Errorf("case %d: LastChanged differs after trimming", i)
		}
	}
	if got, err := cachetrim.New(self)("not an object"); err != nil || got != "not an object" {
		t.Errorf("a non-object is passed through, got %v, %v", got, err)
	}
}

// Apart from the managedFields, the last-applied annotation and a user's
// status.access (kept as its fingerprint), the transform changes no value; and two
// objects share the strings they repeat.
func TestTransformKeepsValuesAndSharesStrings(t *testing.T) {
	u1, u2 := user(0), user(1)
	b1, b2 := binding(0, 100), binding(1, 100)
	ignore := cmpopts.IgnoreFields(metav1.ObjectMeta{}, "ManagedFields")

	gotUser := transform(t, decoded(t, u1))
	wantUser := user(0)
	wantUser.Annotations = map[string]string{cachetrim.AccessAnnotation: cachetrim.AccessFingerprint(wantUser.Status.Access)}
	wantUser.Status.Access = nil
	if diff := cmp.Diff(wantUser, gotUser, ignore); diff != "" {
		t.Errorf("the transform changed a user's value (-want +got):\n%s", diff)
	}
	if fp, ok := cachetrim.CachedAccess(gotUser); !ok || fp != cachetrim.AccessFingerprint(u1.Status.Access) {
		t.Errorf("CachedAccess = %q, %v", fp, ok)
	}
	if diff := cmp.Diff(binding(0, 100), transform(t, decoded(t, b1)), ignore); diff != "" {
		t.Errorf("the transform changed a binding's value (-want +got):\n%s", diff)
	}

	x, y := transform(t, decoded(t, u1)), transform(t, decoded(t, u2))
	same := func(what, a, b string) {
		t.Helper()
		if a != b || unsafe.StringData(a) != unsafe.StringData(b) {
			t.Errorf("%s: %q and %q are not one string", what, a, b)
		}
	}
	same("namespace", x.Namespace, y.Namespace)
	same("condition message", x.Status.Conditions[0].Message, y.Status.Conditions[0].Message)
	// A user's name, its binding's subject and the binding's status share one string.
	bx, by := transform(t, decoded(t, b1)), transform(t, decoded(t, b2))
	same("subject in spec and status", bx.Spec.Subjects[5].Name, bx.Status.Subjects[5].Name)
	same("subject in two bindings", bx.Spec.Subjects[1].Name, by.Spec.Subjects[0].Name)
	same("user name and subject", x.Name, bx.Spec.Subjects[0].Name)
	if cap(bx.Spec.Subjects) != len(bx.Spec.Subjects) {
		t.Errorf("spec.subjects keeps %d spare elements", cap(bx.Spec.Subjects)-len(bx.Spec.Subjects))
	}
}

// The fingerprint tells every change of a user's access from no change.
func TestAccessFingerprint(t *testing.T) {
	base := user(0).Status.Access
	fp := cachetrim.AccessFingerprint(base)
	if cachetrim.AccessFingerprint(*decoded(t, &base)) != fp {
		t.Error("the same access, decoded again, has another fingerprint")
	}
	changes := map[string]func(a []iamv1.EnvironmentAccess) []iamv1.EnvironmentAccess{
		"none":                 func(a []iamv1.EnvironmentAccess) []iamv1.EnvironmentAccess { return nil },
		"one environment less": func(a []iamv1.EnvironmentAccess) []iamv1.EnvironmentAccess { return a[1:] },
		"another role": func(a []iamv1.EnvironmentAccess) []iamv1.EnvironmentAccess {
			a[3].Roles = []iamv1.Role{iamv1.RoleAnalyst}
			return a
		},
		"a role more": func(a []iamv1.EnvironmentAccess) []iamv1.EnvironmentAccess {
			a[3].Roles = append(a[3].Roles, iamv1.RoleAnalyst)
			return a
		},
		"another binding": func(a []iamv1.EnvironmentAccess) []iamv1.EnvironmentAccess {
			a[3].Bindings = []string{"ag-1/ab-002"}
			return a
		},
		"another source": func(a []iamv1.EnvironmentAccess) []iamv1.EnvironmentAccess {
			a[3].Source = iamv1.AccessSourceEnvironment
			return a
		},
		"a role moved to the binding list": func(a []iamv1.EnvironmentAccess) []iamv1.EnvironmentAccess {
			a[3].Roles, a[3].Bindings = nil, append([]string{string(a[3].Roles[0])}, a[3].Bindings...)
			return a
		},
		"two entries swapped": func(a []iamv1.EnvironmentAccess) []iamv1.EnvironmentAccess {
			a[0], a[1] = a[1], a[0]
			return a
		},
	}
	seen := map[string]string{fp: "unchanged"}
	for name, change := range changes {
		got := cachetrim.AccessFingerprint(change(user(0).Status.Access))
		if other, dup := seen[got]; dup {
			t.Errorf("%q has the fingerprint of %q", name, other)
		}
		seen[got] = name
	}
}
