package cachetrim_test

import (
	"encoding/json"
	"testing"
	"time"
	"unsafe"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

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

// Apart from the managedFields and the last-applied annotation, the transform
// changes no value; and two objects share the strings they repeat.
func TestTransformKeepsValuesAndSharesStrings(t *testing.T) {
	u1, u2 := user(0), user(1)
	b1, b2 := binding(0, 100), binding(1, 100)
	ignore := cmpopts.IgnoreFields(metav1.ObjectMeta{}, "ManagedFields")
	for _, pair := range []struct{ want, got any }{
		{user(0), transform(t, decoded(t, u1))},
		{binding(0, 100), transform(t, decoded(t, b1))},
	} {
		if diff := cmp.Diff(pair.want, pair.got, ignore); diff != "" {
			t.Errorf("the transform changed a value (-want +got):\n%s", diff)
		}
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
	same("environment", x.Status.Access[3].Environment, y.Status.Access[3].Environment)
	same("role", string(x.Status.Access[3].Roles[0]), string(y.Status.Access[3].Roles[0]))
	same("binding", x.Status.Access[3].Bindings[0], y.Status.Access[3].Bindings[0])
	if cap(x.Status.Access) != len(x.Status.Access) {
		t.Errorf("status.access keeps %d spare elements", cap(x.Status.Access)-len(x.Status.Access))
	}
	// A user's name, its binding's subject and the binding's status share one string.
	bx, by := transform(t, decoded(t, b1)), transform(t, decoded(t, b2))
	same("subject in spec and status", bx.Spec.Subjects[5].Name, bx.Status.Subjects[5].Name)
	same("subject in two bindings", bx.Spec.Subjects[1].Name, by.Spec.Subjects[0].Name)
	same("user name and subject", x.Name, bx.Spec.Subjects[0].Name)
}
