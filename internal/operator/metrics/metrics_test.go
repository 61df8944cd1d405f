package metrics

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/studio-operator/studio-operator/internal/store"
)

func TestObserveStoreRequest(t *testing.T) {
	ObserveStoreRequest("PutUser", 3*time.Millisecond, nil)
	ObserveStoreRequest("PutUser", time.Millisecond, store.Errorf(store.CodeEmailInUse, "email", "taken"))
	ObserveStoreRequest("GetUser", time.Millisecond, store.Unavailable(errors.New("down")))

	for labels, want := range map[[2]string]float64{
		{"PutUser", "email-in-use"}: 1,
		{"GetUser", "unavailable"}:  1,
		{"PutUser", "ok"}:           0,
	} {
		if got := testutil.ToFloat64(StoreRequestErrors.WithLabelValues(labels[0], labels[1])); got != want {
			t.Errorf("errors%v = %v, want %v", labels, got, want)
		}
	}
	if n := testutil.CollectAndCount(StoreRequestDuration); n != 3 {
		t.Errorf("duration series = %d, want 3 (operation × code)", n)
	}
}

func TestUsersGauge(t *testing.T) {
	SetUserStates(func(context.Context) (map[string]int, error) {
		return map[string]int{"Active": 2, "Invited": 1}, nil
	})
	want := `
# HELP studio_operator_users StudioUsers by state in the Studio (Unknown before the first reconcile).
# TYPE studio_operator_users gauge
studio_operator_users{state="Active"} 2
studio_operator_users{state="Invited"} 1
`
	if err := testutil.CollectAndCompare(users, strings.NewReader(want)); err != nil {
		t.Error(err)
	}
	SetUserStates(func(context.Context) (map[string]int, error) { return nil, errors.New("cache not started") })
	if n := testutil.CollectAndCount(users); n != 0 {
		t.Errorf("a failing count reports %d series, want none", n)
	}
}

func TestRevocationsHeldGauge(t *testing.T) {
	SetHeldRevocations(func(context.Context) (map[string]int, error) {
		return map[string]int{"acme": 7, "globex": 0}, nil
	})
	want := `
# HELP studio_operator_revocations_held Users per Agency who keep access their manifests no longer give them, until the held revocations are approved.
# TYPE studio_operator_revocations_held gauge
studio_operator_revocations_held{agency="acme"} 7
studio_operator_revocations_held{agency="globex"} 0
`
	if err := testutil.CollectAndCompare(revocationsHeld, strings.NewReader(want)); err != nil {
		t.Error(err)
	}
}
