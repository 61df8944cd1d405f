package controllers

import (
	"context"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	iamv1 "github.com/studio-operator/studio-operator/api/v1alpha1"
	"github.com/studio-operator/studio-operator/internal/cascade"
	"github.com/studio-operator/studio-operator/internal/store"
)

// TestGrantWriterFanOut: a large binding's fan-out writes the grant sets of its users,
// waiting for one whose reconcile holds its lock, and leaves to their own reconciles
// one being deleted and one never written by this process.
func TestGrantWriterFanOut(t *testing.T) {
	ctx := context.Background()
	svc := startStore(t)
	op := store.Caller{Manager: "studio-operator"}
	if _, _, err := svc.PutAgency(ctx, op, "acme", store.AgencySpec{DisplayName: "Acme"}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := svc.PutEnvironment(ctx, op, "team.prod", store.EnvironmentSpec{Agency: "acme", DisplayName: "Prod"}); err != nil {
		t.Fatal(err)
	}
	before := []store.Grant{{Scope: store.Scope{Agency: "acme"}, Roles: []cascade.Role{cascade.Analyst}}}
	after := []store.Grant{{Scope: store.Scope{Agency: "acme"}, Roles: []cascade.Role{cascade.Analyst, cascade.Planner}}}
	users := []string{"ready", "busy", "leaving", "new", "same"}
	g := &grantWriter{store: svc, applied: newAppliedState(), listing: newStoreDirectory(svc, time.Minute).grants, parallel: 2}
	for _, name := range users {
		if _, _, err := svc.PutUser(ctx, op, name, store.UserSpec{Email: name + "@example.com", Type: cascade.UserTypeUser}); err != nil {
			t.Fatal(err)
		}
		if _, err := g.write(ctx, op, name, before); err != nil {
			t.Fatal(err)
		}
	}
	g.applied.forget("new") // as if only its reconcile (still to come) knew it

	busy := g.locks.of("busy")
	busy.Lock() // its reconcile is running
	get := func(_ context.Context, name string) (*iamv1.StudioUser, error) {
		u := &iamv1.StudioUser{ObjectMeta: metav1.ObjectMeta{Name: name}}
		if name == "leaving" {
			u.DeletionTimestamp = &metav1.Time{Time: time.Now()}
		}
		return u, nil
	}
	plan := func(_ context.Context, u *iamv1.StudioUser) (userGrantPlan, error) {
		if u.Name == "same" {
			return userGrantPlan{grants: before, caller: op}, nil
		}
		return userGrantPlan{grants: after, caller: store.Caller{Manager: "studio-operator", Source: "RoleBinding/team/big@2"}}, nil
	}
	written := make(chan int, 1)
	go func() { written <- g.fanOut(ctx, users, get, plan) }()
	select {
	case n := <-written:
		t.Fatalf("the fan-out ended (%d written) while a user's reconcile held its lock", n)
	case <-time.After(200 * time.Millisecond):
	}
	busy.Unlock() // the reconcile ends
	if n := <-written; n != 2 {
		t.Errorf("fan-out wrote %d grant sets, want 2 (%q and %q)", n, "ready", "busy")
	}

	for name, want := range map[string][]store.Grant{"ready": after, "busy": after, "leaving": before, "new": before, "same": before} {
		got, err := svc.GetGrants(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		if len(got.Grants) != 1 || len(got.Grants[0].Roles) != len(want[0].Roles) {
			t.Errorf("%s holds %+v, want %+v", name, got.Grants, want)
		}
	}
	if !g.applied.is("ready", after) {
		t.Error("the fan-out's write is not remembered as applied: the user's reconcile would write it again")
	}
	if n := g.fanOut(ctx, []string{"ready"}, get, plan); n != 0 {
		t.Errorf("a second fan-out wrote %d grant sets for a user already as planned", n)
	}
}
