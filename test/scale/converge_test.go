package scale

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	iamv1 "github.com/studio-operator/studio-operator/api/v1alpha1"
)

// user is a StudioUser at generation gen with the given status.
func user(name string, gen, observed int64, conds ...metav1.Condition) *iamv1.StudioUser {
	u := &iamv1.StudioUser{ObjectMeta: metav1.ObjectMeta{Name: name, Generation: gen}}
	u.Status.ObservedGeneration = observed
	u.Status.Conditions = conds
	return u
}

func readyCond(status metav1.ConditionStatus, gen int64) metav1.Condition {
	return metav1.Condition{Type: iamv1.ConditionReady, Status: status, Reason: "R", Message: "m", ObservedGeneration: gen}
}

func TestReadyAtGeneration(t *testing.T) {
	tests := []struct {
		name string
		obj  client.Object
		want bool
	}{
		{"fresh", user("a", 1, -1), false},
		{"ready", user("a", 2, 2, readyCond(metav1.ConditionTrue, 2)), true},
		{"ready, condition without generation", user("a", 2, 2, readyCond(metav1.ConditionTrue, 0)), true},
		{"not ready", user("a", 1, 1, readyCond(metav1.ConditionFalse, 1)), false},
		{"stale status", user("a", 2, 1, readyCond(metav1.ConditionTrue, 1)), false},
		{"stale condition", user("a", 2, 2, readyCond(metav1.ConditionTrue, 1)), false},
		{"not a Studio kind", &metav1.PartialObjectMetadata{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got, reason := readyAtGeneration(tt.obj); got != tt.want || (!got && reason == "") {
				t.Errorf("readyAtGeneration = %v (%q), want %v", got, reason, tt.want)
			}
		})
	}
}

// The floor writes status.observedGeneration and the conditions, nothing else, and
// keeps conditions it did not set.
func TestFloorPatch(t *testing.T) {
	other := metav1.Condition{Type: "Other", Status: metav1.ConditionTrue, Reason: "X", Message: "y", LastTransitionTime: metav1.Unix(1, 0)}
	u := user("a", 3, -1, other)
	u.Spec.Email = "a@bench.example.com"
	raw, err := floorPatch(u, time.Unix(100, 0))
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]map[string]json.RawMessage
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || len(got["status"]) != 2 {
		t.Fatalf("patch touches more than status.observedGeneration and status.conditions: %s", raw)
	}
	var conds []metav1.Condition
	if err := json.Unmarshal(got["status"]["conditions"], &conds); err != nil {
		t.Fatal(err)
	}
	patched := user("a", 3, 3, conds...)
	if ok, reason := readyAtGeneration(patched); !ok {
		t.Errorf("after the patch: not ready (%s)", reason)
	}
	if len(conds) != 2 || conds[0].Type != "Other" || conds[1].Message == "" || conds[1].LastTransitionTime.IsZero() {
		t.Errorf("conditions = %+v", conds)
	}
}

func TestTrackerCounts(t *testing.T) {
	tr := &tracker{state: map[string]objState{}, wantKind: map[string]int{}, readyKind: map[string]int{}, kindDoneAt: map[string]time.Time{}}
	start := time.Now()
	tr.expect(map[string]int{"studiouser": 2})
	tr.observe("studiouser", user("a", 1, -1))
	tr.observe("studiouser", user("b", 1, 1, readyCond(metav1.ConditionTrue, 1)))
	if ready, seen, _, all := tr.counts(); ready != 1 || seen != 2 || all {
		t.Fatalf("counts = %d ready, %d seen, all %v", ready, seen, all)
	}
	tr.observe("studiouser", user("a", 1, 1, readyCond(metav1.ConditionTrue, 1)))
	ready, _, at, all := tr.counts()
	if ready != 2 || !all || at.Before(start) {
		t.Fatalf("after a became ready: %d ready, all %v, at %v", ready, all, at)
	}
	times, last := tr.timeline(start)
	if last != "studiouser//a" || times["studiouser"] < 0 {
		t.Errorf("timeline = %v, last %q", times, last)
	}
	// A spec change makes b not ready until its status catches up.
	tr.observe("studiouser", user("b", 2, 1, readyCond(metav1.ConditionTrue, 1)))
	if _, _, _, all := tr.counts(); all || tr.readyAt("studiouser", user("b", 2, 0), 2) {
		t.Error("b counted ready at generation 2 before its status said so")
	}
	if diff := cmp.Diff([]string{"studiouser//b: observedGeneration 1, generation 2"}, tr.notReady(5)); diff != "" {
		t.Errorf("notReady (-want +got)\n%s", diff)
	}
	tr.forget("studiouser", user("b", 2, 1))
	if ready, seen, _, _ := tr.counts(); ready != 1 || seen != 1 {
		t.Errorf("after delete: %d ready, %d seen", ready, seen)
	}
}
