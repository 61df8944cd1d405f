package provenance_test

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/studio-operator/studio-operator/internal/operator/provenance"
	"github.com/studio-operator/studio-operator/internal/store"
)

func at(sec int) *metav1.Time {
	t := metav1.NewTime(time.Date(2026, 1, 1, 0, 0, sec, 0, time.UTC))
	return &t
}

func TestOnBehalfOf(t *testing.T) {
	cases := map[string]struct {
		meta metav1.ObjectMeta
		want string
	}{
		"nothing known": {},
		"argo cd tracking annotation": {
			meta: metav1.ObjectMeta{
				Annotations: map[string]string{provenance.ArgoCDTrackingAnnotation: "studio-users:iam.studio-operator.io/StudioUser:/alice"},
				Labels:      map[string]string{provenance.InstanceLabel: "other"},
			},
			want: "argocd:studio-users",
		},
		"instance label": {
			meta: metav1.ObjectMeta{Labels: map[string]string{provenance.InstanceLabel: "studio-users"}},
			want: "argocd:studio-users",
		},
		"last field manager, not status, not self": {
			meta: metav1.ObjectMeta{ManagedFields: []metav1.ManagedFieldsEntry{
				{Manager: "kubectl-client-side-apply", Operation: metav1.ManagedFieldsOperationUpdate, Time: at(1)},
				{Manager: "flux", Operation: metav1.ManagedFieldsOperationApply, Time: at(5)},
				{Manager: "studio-operator", Operation: metav1.ManagedFieldsOperationUpdate, Time: at(9)},
				{Manager: "studio-operator", Operation: metav1.ManagedFieldsOperationUpdate, Subresource: "status", Time: at(9)},
				{Manager: "kubectl-edit", Operation: metav1.ManagedFieldsOperationUpdate, Time: at(3)},
			}},
			want: "flux",
		},
		"entries without time count as oldest": {
			meta: metav1.ObjectMeta{ManagedFields: []metav1.ManagedFieldsEntry{
				{Manager: "kubectl", Time: at(2)},
				{Manager: "mystery"},
			}},
			want: "kubectl",
		},
		"control characters and length are clipped": {
			meta: metav1.ObjectMeta{Labels: map[string]string{provenance.InstanceLabel: "a\nb" + strings.Repeat("x", 400)}},
			want: "argocd:ab" + strings.Repeat("x", 256-len("argocd:ab")),
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if got := provenance.OnBehalfOf(&tc.meta, "studio-operator"); got != tc.want {
				t.Errorf("OnBehalfOf = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestCaller(t *testing.T) {
	cases := map[string]struct {
		kind string
		meta metav1.ObjectMeta
		want store.Caller
	}{
		"cluster-scoped": {
			kind: "StudioUser",
			meta: metav1.ObjectMeta{Name: "alice", Generation: 3, Labels: map[string]string{provenance.InstanceLabel: "users"}},
			want: store.Caller{Manager: "prod", OnBehalfOf: "argocd:users", Source: "StudioUser/alice@3"},
		},
		"namespaced": {
			kind: "Environment",
			meta: metav1.ObjectMeta{Namespace: "team-a", Name: "prod", Generation: 1},
			want: store.Caller{Manager: "prod", Source: "Environment/team-a/prod@1"},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, provenance.Caller(tc.kind, &tc.meta, "prod", "studio-operator")); diff != "" {
				t.Errorf("caller (-want +got):\n%s", diff)
			}
		})
	}
}

func TestLastChanged(t *testing.T) {
	atMin := func(min int) *metav1.Time {
		tm := metav1.NewTime(time.Date(2026, 11, 27, 10, min, 0, 0, time.UTC))
		return &tm
	}
	obj := func(name string, deleted *metav1.Time, entries ...metav1.ManagedFieldsEntry) metav1.Object {
		o := &metav1.ObjectMeta{Name: name, ManagedFields: entries, DeletionTimestamp: deleted}
		return o
	}
	entry := func(manager string, t *metav1.Time, sub string) metav1.ManagedFieldsEntry {
		return metav1.ManagedFieldsEntry{Manager: manager, Time: t, Subresource: sub}
	}
	cases := map[string]struct {
		candidates []provenance.Candidate
		want       string
	}{
		"a binding edited after the user wins": {
			candidates: []provenance.Candidate{
				{"StudioUser", obj("alice", nil, entry("kubectl", atMin(1), ""))},
				{"RoleBinding", obj("agents", nil, entry("argocd-controller", atMin(5), ""))},
			},
			want: "agents",
		},
		"the user edited last wins": {
			candidates: []provenance.Candidate{
				{"StudioUser", obj("alice", nil, entry("kubectl", atMin(9), ""))},
				{"RoleBinding", obj("agents", nil, entry("kubectl", atMin(5), ""))},
			},
			want: "alice",
		},
		"status writes and the operator's own writes do not count": {
			candidates: []provenance.Candidate{
				{"StudioUser", obj("alice", nil, entry("kubectl", atMin(3), ""))},
				{"RoleBinding", obj("agents", nil, entry("kubectl", atMin(1), ""), entry("other-controller", atMin(8), "status"), entry("studio-operator", atMin(9), ""))},
			},
			want: "alice",
		},
		"a binding being deleted counts from its deletion time": {
			candidates: []provenance.Candidate{
				{"StudioUser", obj("alice", nil, entry("kubectl", atMin(3), ""))},
				{"RoleBinding", obj("agents", atMin(7), entry("kubectl", atMin(1), ""))},
			},
			want: "agents",
		},
		"ties and unknown times keep the first": {
			candidates: []provenance.Candidate{
				{"StudioUser", obj("alice", nil)},
				{"RoleBinding", obj("agents", nil, entry("kubectl", nil, ""))},
			},
			want: "alice",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got := provenance.LastChanged("studio-operator", tc.candidates...)
			if got.Obj.GetName() != tc.want {
				t.Errorf("LastChanged = %s, want %s", got.Obj.GetName(), tc.want)
			}
		})
	}
}

// The cache transform keeps every answer provenance gives, and drops the bulk.
func TestTrimForCacheKeepsProvenance(t *testing.T) {
	fields := &metav1.FieldsV1{Raw: []byte(`{"f:spec":{"f:subjects":{}}}`)}
	mk := func() *metav1.PartialObjectMetadata {
		return &metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{
			Name: "b", Namespace: "team-a", Generation: 3,
			Annotations: map[string]string{
				"kubectl.kubernetes.io/last-applied-configuration": `{"big":"copy"}`,
				"keep": "me",
			},
			ManagedFields: []metav1.ManagedFieldsEntry{
				{Manager: "kubectl-client-side-apply", Operation: metav1.ManagedFieldsOperationUpdate, Time: at(1), FieldsType: "FieldsV1", FieldsV1: fields},
				{Manager: "flux", Operation: metav1.ManagedFieldsOperationApply, Time: at(5), FieldsType: "FieldsV1", FieldsV1: fields},
				{Manager: "studio-operator", Operation: metav1.ManagedFieldsOperationUpdate, Subresource: "status", Time: at(9), FieldsV1: fields},
			},
		}}
	}
	full, trimmed := mk(), mk()
	if _, err := provenance.TrimForCache(trimmed); err != nil {
		t.Fatal(err)
	}
	for _, e := range trimmed.ManagedFields {
		if e.FieldsV1 != nil {
			t.Errorf("entry of %s keeps its field set", e.Manager)
		}
	}
	if _, ok := trimmed.Annotations["kubectl.kubernetes.io/last-applied-configuration"]; ok || trimmed.Annotations["keep"] != "me" {
		t.Errorf("annotations after trimming: %v", trimmed.Annotations)
	}
	if diff := cmp.Diff(provenance.Caller("RoleBinding", full, "m", "studio-operator"),
		provenance.Caller("RoleBinding", trimmed, "m", "studio-operator")); diff != "" {
		t.Errorf("caller changed by trimming (-full +trimmed):\n%s", diff)
	}
	if _, err := provenance.TrimForCache("not an object"); err != nil {
		t.Errorf("a non-object is passed through, got %v", err)
	}
}
