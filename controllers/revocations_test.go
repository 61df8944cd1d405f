package controllers

import (
	"context"
	"errors"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/studio-operator/studio-operator/internal/cascade"
	"github.com/studio-operator/studio-operator/internal/operator/revocation"
	"github.com/studio-operator/studio-operator/internal/store"
)

// crdReader answers reads of CRDs as a cluster would whose CRDs are in the state
// given: present, being deleted, missing, or unreadable.
type crdReader struct {
	client.Reader
	state string
}

func (c crdReader) Get(_ context.Context, key client.ObjectKey, obj client.Object, _ ...client.GetOption) error {
	switch c.state {
	case "missing":
		return apierrors.NewNotFound(schema.GroupResource{Group: "apiextensions.k8s.io", Resource: "customresourcedefinitions"}, key.Name)
	case "unreadable":
		return errors.New("connection refused")
	case "deleting":
		now := metav1.Now()
		obj.SetDeletionTimestamp(&now)
	}
	obj.SetName(key.Name)
	return nil
}

func TestCRDCheck(t *testing.T) {
	for state, want := range map[string]bool{"present": false, "deleting": true, "missing": true, "unreadable": true} {
		var c crdCheck
		if got := c.gone(context.Background(), crdReader{state: state}); got != want {
			t.Errorf("CRDs %s: gone = %v, want %v", state, got, want)
		}
	}
}

// With the operator's CRDs going, a user who would lose all its access keeps it, even
// with the agency's limit off; the write keeps the held agency's grants and applies
// the rest.
func TestRevocationsHoldEverythingWhileTheCRDsGo(t *testing.T) {
	ctx := context.Background()
	svc := startStore(t)
	op := store.Caller{Manager: "studio-operator"}
	for _, a := range []string{"acme", "globex"} {
		if _, _, err := svc.PutAgency(ctx, op, a, store.AgencySpec{DisplayName: a}); err != nil {
			t.Fatal(err)
		}
	}
	d := newStoreDirectory(svc, time.Minute)
	v := newRevocations(time.Minute, crdReader{state: "missing"}, crdReader{state: "missing"}, d)
	before := []store.Grant{
		{Scope: store.Scope{Agency: "acme"}, Roles: []cascade.Role{cascade.Analyst}},
		{Scope: store.Scope{Agency: "globex"}, Roles: []cascade.Role{cascade.Planner}},
	}
	want := []store.Grant{{Scope: store.Scope{Agency: "globex"}, Roles: []cascade.Role{cascade.Planner, cascade.Analyst}}}
	got, held := v.filter(ctx, "ana", before, want)
	if len(held) != 1 || held[0].agency != "acme" {
		t.Fatalf("held %+v, want acme", held)
	}
	if len(got) != 2 || got[0].Scope.Agency != "acme" || len(got[1].Roles) != 2 {
		t.Errorf("written %+v: want acme kept and globex as wanted", got)
	}
	if !v.guard.IsHeld("acme", "ana") || v.guard.Held("acme").Reasons["ana"] != revocation.ReasonCRDs {
		t.Errorf("the guard does not hold ana in acme for the CRDs: %+v", v.guard.Held("acme"))
	}
}
