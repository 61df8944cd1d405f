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
				{Kind: "StudioUser", Obj: obj("alice", nil, entry("kubectl", atMin(1), ""))},
				{Kind: "RoleBinding", Obj: obj("agents", nil, entry("argocd-controller", atMin(5), ""))},
			},
			want: "agents",
		},
		"the user edited last wins": {
			candidates: []provenance.Candidate{
				{Kind: "StudioUser", Obj: obj("alice", nil, entry("kubectl", atMin(9), ""))},
				{Kind: "RoleBinding", Obj: obj("agents", nil, entry("kubectl", atMin(5), ""))},
			},
			want: "alice",
		},
		"status writes and the operator's own writes do not count": {
			candidates: []provenance.Candidate{
				{Kind: "StudioUser", Obj: obj("alice", nil, entry("kubectl", atMin(3), ""))},
				{Kind: "RoleBinding", Obj: obj("agents", nil, entry("kubectl", atMin(1), ""), entry("other-controller", atMin(8), "status"), entry("studio-operator", atMin(9), ""))},
			},
			want: "alice",
		},
		"a binding being deleted counts from its deletion time": {
			candidates: []provenance.Candidate{
				{Kind: "StudioUser", Obj: obj("alice", nil, entry("kubectl", atMin(3), ""))},
				{Kind: "RoleBinding", Obj: obj("agents", atMin(7), entry("kubectl", atMin(1), ""))},
			},
			want: "agents",
		},
		"ties and unknown times keep the first": {
			candidates: []provenance.Candidate{
				{Kind: "StudioUser", Obj: obj("alice", nil)},
				{Kind: "RoleBinding", Obj: obj("agents", nil, entry("kubectl", nil, ""))},
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

func TestSeenChangesAreCreditedToTheirEditNotTheLastEditor(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	entry := func(manager string, at time.Time) metav1.ManagedFieldsEntry {
		mt := metav1.NewTime(at)
		return metav1.ManagedFieldsEntry{Manager: manager, Operation: metav1.ManagedFieldsOperationUpdate, Time: &mt}
	}
	obj := func(entries ...metav1.ManagedFieldsEntry) *metav1.ObjectMeta {
		return &metav1.ObjectMeta{Namespace: "team", Name: "agents", Generation: 2, ManagedFields: entries}
	}
	old := obj(entry("kubectl-client-side-apply", t0), entry("argocd-controller", t0))
	cur := obj(entry("kubectl-client-side-apply", t0), entry("argocd-controller", t0.Add(time.Minute)), entry("studio-operator", t0.Add(2*time.Minute)))
	edit := provenance.Edit("RoleBinding", old, cur, t0.Add(3*time.Minute), "studio-operator")
	if got := edit.Caller("op", "studio-operator"); got.OnBehalfOf != "argocd-controller" || got.Source != "RoleBinding/team/agents@2" {
		t.Errorf("edit credited to %+v, want argocd-controller and the binding", got)
	}
	// An edit that renewed no entry (a bare removal) names nobody rather than the
	// last editor.
	if got := provenance.Edit("RoleBinding", old, old, t0, "studio-operator").Caller("op", "studio-operator"); got.OnBehalfOf != "" {
		t.Errorf("bare removal credited to %q, want nobody", got.OnBehalfOf)
	}
	del := provenance.Deletion("RoleBinding", old, t0.Add(time.Hour))
	if got := del.Caller("op", "studio-operator"); got.OnBehalfOf != "" {
		t.Errorf("deletion credited to %q: Kubernetes does not record who deletes", got.OnBehalfOf)
	}
	tracked := obj(entry("kubectl-client-side-apply", t0))
	tracked.Annotations = map[string]string{provenance.ArgoCDTrackingAnnotation: "shop:iam.studio-operator.io/RoleBinding:team/agents"}
	if got := provenance.Deletion("RoleBinding", tracked, t0).Caller("op", "studio-operator"); got.OnBehalfOf != "argocd:shop" {
		t.Errorf("deletion of a tracked object credited to %q, want its application", got.OnBehalfOf)
	}
	// Seen when it happened: a deletion after the user's last edit is what changed last.
	user := provenance.Candidate{Kind: "StudioUser", Obj: obj(entry("kubectl", t0.Add(30*time.Minute)))}
	if got := provenance.LastChanged("studio-operator", user, del); !got.Seen {
		t.Errorf("LastChanged chose %+v over a later deletion", got)
	}
}
