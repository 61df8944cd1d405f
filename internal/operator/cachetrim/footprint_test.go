package cachetrim_test

import (
	"encoding/json"
	"fmt"
	"runtime"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"

	iamv1 "github.com/studio-operator/studio-operator/api/v1alpha1"
	"github.com/studio-operator/studio-operator/internal/operator/cachetrim"
)

// The objects of the end-to-end benchmark's organisation as the API server sends
// them once the manager has reconciled them: a user with access to the 25
// environments of its agency (one agency binding) and 2 more of its own, and
// bindings of 1 and of 100 subjects.

func meta(name, ns string, i int) metav1.ObjectMeta {
	t := metav1.NewTime(time.Date(2026, 12, 1, 10, 0, i%60, 0, time.UTC))
	fields := &metav1.FieldsV1{Raw: []byte(`{"f:metadata":{"f:finalizers":{".":{},"v:\"iam.studio-operator.io/finalizer\"":{}}},"f:spec":{".":{},"f:displayName":{},"f:email":{},"f:type":{}}}`)}
	return metav1.ObjectMeta{
		Name: name, Namespace: ns, UID: "0b9e5d2c-8f1a-4c1e-9a43-5d6f7a8b9c0d", ResourceVersion: fmt.Sprint(100000 + i), Generation: 1,
		CreationTimestamp: t, Finalizers: []string{"iam.studio-operator.io/finalizer"},
		ManagedFields: []metav1.ManagedFieldsEntry{
			{Manager: "bench-e2e", Operation: metav1.ManagedFieldsOperationUpdate, APIVersion: "iam.studio-operator.io/v1alpha1", Time: &t, FieldsType: "FieldsV1", FieldsV1: fields},
			{Manager: "studio-operator", Operation: metav1.ManagedFieldsOperationUpdate, APIVersion: "iam.studio-operator.io/v1alpha1", Time: &t, FieldsType: "FieldsV1", FieldsV1: fields},
			{Manager: "studio-operator", Operation: metav1.ManagedFieldsOperationUpdate, APIVersion: "iam.studio-operator.io/v1alpha1", Time: &t, FieldsType: "FieldsV1", FieldsV1: fields, Subresource: "status"},
		},
	}
}

func conditions(i int, reason, msg string) []metav1.Condition {
	t := metav1.NewTime(time.Date(2026, 12, 1, 10, 1, i%60, 0, time.UTC))
	return []metav1.Condition{
		{Type: "Ready", Status: metav1.ConditionTrue, ObservedGeneration: 1, LastTransitionTime: t, Reason: reason, Message: msg},
		{Type: "Reconciling", Status: metav1.ConditionFalse, ObservedGeneration: 1, LastTransitionTime: t, Reason: reason, Message: msg},
		{Type: "Stalled", Status: metav1.ConditionFalse, ObservedGeneration: 1, LastTransitionTime: t, Reason: reason, Message: msg},
	}
}

func user(i int) *iamv1.StudioUser {
	name := fmt.Sprintf("u-%05d", i+1)
	u := &iamv1.StudioUser{
		TypeMeta:   metav1.TypeMeta{APIVersion: "iam.studio-operator.io/v1alpha1", Kind: "StudioUser"},
		ObjectMeta: meta(name, "ag-1", i),
		Spec:       iamv1.StudioUserSpec{Email: name + "@bench.example.com", DisplayName: "User " + name},
	}
	sent := metav1.NewTime(time.Date(2026, 12, 1, 10, 1, 0, 0, time.UTC))
	expires := metav1.NewTime(sent.Add(168 * time.Hour))
	u.Status = iamv1.StudioUserStatus{
		CommonStatus: iamv1.CommonStatus{ObservedGeneration: 1, Conditions: conditions(i, "Succeeded", "the user exists in the Studio with the access its RoleBindings grant")},
		StudioID:     name, State: "Invited", CreatedAt: &sent,
		Invitation: &iamv1.InvitationStatus{State: "Pending", SentAt: &sent, ExpiresAt: &expires, SendCount: 1,
			LinkSecretRef: &iamv1.SecretReference{Name: name + "-invitation"}},
	}
	for e := range 25 {
		u.Status.Access = append(u.Status.Access, iamv1.EnvironmentAccess{
			Environment: fmt.Sprintf("ag-1/env-%03d", e+1), Agency: "ag-1", Roles: []iamv1.Role{iamv1.RolePlanner},
			Source: "Agency", Bindings: []string{"ag-1/ab-001"},
		})
	}
	for e := range 2 {
		u.Status.Access[e].Roles = append(u.Status.Access[e].Roles, iamv1.RoleOperator)
		u.Status.Access[e].Bindings = append(u.Status.Access[e].Bindings, fmt.Sprintf("ag-1/%s-env-%d", name, e))
	}
	u.Status.Environments = int32(len(u.Status.Access))
	return u
}

func binding(i, subjects int) *iamv1.RoleBinding {
	b := &iamv1.RoleBinding{
		TypeMeta:   metav1.TypeMeta{APIVersion: "iam.studio-operator.io/v1alpha1", Kind: "RoleBinding"},
		ObjectMeta: meta(fmt.Sprintf("u-%05d-env-0", i+1), "ag-1", i),
		Spec:       iamv1.RoleBindingSpec{Scope: iamv1.BindingScope{Environment: "env-001"}, Roles: []iamv1.Role{iamv1.RoleOperator}},
	}
	b.Status.CommonStatus = iamv1.CommonStatus{ObservedGeneration: 1, Conditions: conditions(i, "Succeeded", "every subject has the binding's roles")}
	b.Status.Agency, b.Status.Environment = "ag-1", "ag-1/env-001"
	for s := range subjects {
		name := fmt.Sprintf("u-%05d", i+s+1)
		b.Spec.Subjects = append(b.Spec.Subjects, iamv1.Subject{Name: name})
		b.Status.Subjects = append(b.Status.Subjects, iamv1.SubjectStatus{Name: name, Applied: true})
	}
	return b
}

// footprint decodes n objects as an informer does (each from its own bytes), runs
// transform on each, and returns the live heap they hold, in bytes per object.
func footprint(tb testing.TB, n int, mk func(i int) any, transform func(any) (any, error)) float64 {
	tb.Helper()
	scheme := clientgoscheme.Scheme
	if err := iamv1.AddToScheme(scheme); err != nil {
		tb.Fatal(err)
	}
	decoder := serializer.NewCodecFactory(scheme).UniversalDeserializer()
	raw := make([][]byte, n)
	for i := range n {
		b, err := json.Marshal(mk(i))
		if err != nil {
			tb.Fatal(err)
		}
		raw[i] = b
	}
	kept := make([]any, n)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&before)
	for i := range n {
		obj, _, err := decoder.Decode(raw[i], nil, nil)
		if err != nil {
			tb.Fatal(err)
		}
		if kept[i], err = transform(obj); err != nil {
			tb.Fatal(err)
		}
	}
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(kept)
	runtime.KeepAlive(raw)
	return float64(after.HeapAlloc-before.HeapAlloc) / float64(n)
}

func untouched(obj any) (any, error) { return obj, nil }

// BenchmarkCacheFootprint reports the bytes the informer cache holds per object of
// each kind, as decoded and after the manager's transform.
//
//	go test ./internal/operator/cachetrim -run '^$' -bench CacheFootprint -benchtime 1x
func BenchmarkCacheFootprint(b *testing.B) {
	const n = 2000
	kinds := []struct {
		name string
		mk   func(int) any
	}{
		{"studiouser-27-envs", func(i int) any { return user(i) }},
		{"rolebinding-1-subject", func(i int) any { return binding(i, 1) }},
		{"rolebinding-100-subjects", func(i int) any { return binding(i, 100) }},
	}
	for _, k := range kinds {
		b.Run(k.name, func(b *testing.B) {
			var raw, trimmed float64
			for b.Loop() {
				raw = footprint(b, n, k.mk, untouched)
				trimmed = footprint(b, n, k.mk, cachetrim.New("studio-operator"))
			}
			b.ReportMetric(raw, "decoded-B/obj")
			b.ReportMetric(trimmed, "cached-B/obj")
			b.ReportMetric(trimmed/raw, "ratio")
		})
	}
}
