package controllers

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	iamv1 "github.com/studio-operator/studio-operator/api/v1alpha1"
	"github.com/studio-operator/studio-operator/internal/store"
)

func cond(typ string, status metav1.ConditionStatus, reason string) metav1.Condition {
	return metav1.Condition{Type: typ, Status: status, Reason: reason, ObservedGeneration: 4}
}

func TestOutcomeApply(t *testing.T) {
	stale := []metav1.Condition{
		cond(iamv1.ConditionReady, metav1.ConditionFalse, iamv1.ReasonStoreUnavailable),
		cond(iamv1.ConditionReconciling, metav1.ConditionTrue, iamv1.ReasonStoreUnavailable),
		cond(iamv1.ConditionStalled, metav1.ConditionTrue, iamv1.ReasonEmailInUse),
	}
	cases := map[string]struct {
		out      outcome
		wantGen  int64
		wantCond []metav1.Condition
	}{
		"ready: only Ready, generation observed": {
			out:      ready(iamv1.ReasonSucceeded, "ok"),
			wantGen:  4,
			wantCond: []metav1.Condition{cond(iamv1.ConditionReady, metav1.ConditionTrue, iamv1.ReasonSucceeded)},
		},
		"stalled: Ready false and Stalled, generation observed (a final verdict)": {
			out:     stalled(iamv1.ReasonManagedByOther, "theirs"),
			wantGen: 4,
			wantCond: []metav1.Condition{
				cond(iamv1.ConditionReady, metav1.ConditionFalse, iamv1.ReasonManagedByOther),
				cond(iamv1.ConditionStalled, metav1.ConditionTrue, iamv1.ReasonManagedByOther),
			},
		},
		"waiting: Reconciling, generation not observed": {
			out:     waiting(iamv1.ReasonEnvironmentNotReady, "later"),
			wantGen: 1,
			wantCond: []metav1.Condition{
				cond(iamv1.ConditionReady, metav1.ConditionFalse, iamv1.ReasonEnvironmentNotReady),
				cond(iamv1.ConditionReconciling, metav1.ConditionTrue, iamv1.ReasonEnvironmentNotReady),
			},
		},
		"store unavailable: Reconciling, generation not observed": {
			out:     fromStoreError(store.Unavailable(errors.New("refused")), ""),
			wantGen: 1,
			wantCond: []metav1.Condition{
				cond(iamv1.ConditionReady, metav1.ConditionFalse, iamv1.ReasonStoreUnavailable),
				cond(iamv1.ConditionReconciling, metav1.ConditionTrue, iamv1.ReasonStoreUnavailable),
			},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			st := iamv1.CommonStatus{ObservedGeneration: 1, Conditions: append([]metav1.Condition(nil), stale...)}
			tc.out.apply(&st, 4)
			if st.ObservedGeneration != tc.wantGen {
				t.Errorf("observedGeneration = %d, want %d", st.ObservedGeneration, tc.wantGen)
			}
			opts := []cmp.Option{
				cmpopts.IgnoreFields(metav1.Condition{}, "Message", "LastTransitionTime"),
				cmpopts.SortSlices(func(a, b metav1.Condition) bool { return a.Type < b.Type }),
			}
			if diff := cmp.Diff(tc.wantCond, st.Conditions, opts...); diff != "" {
				t.Errorf("conditions (-want +got):\n%s", diff)
			}
		})
	}
}

func TestFromStoreError(t *testing.T) {
	cases := map[string]struct {
		err     error
		kind    outcomeKind
		reason  string
		message string
	}{
		"unavailable retries":      {err: store.Unavailable(errors.New("x")), kind: outcomeFailed, reason: iamv1.ReasonStoreUnavailable, message: msgStoreUnavailable},
		"internal retries":         {err: store.Errorf(store.CodeInternal, "", "boom"), kind: outcomeFailed, reason: iamv1.ReasonStoreUnavailable},
		"not a store error":        {err: errors.New("odd"), kind: outcomeFailed, reason: iamv1.ReasonStoreUnavailable},
		"email in use stalls":      {err: store.Errorf(store.CodeEmailInUse, "email", "taken"), kind: outcomeStalled, reason: iamv1.ReasonEmailInUse, message: "email: taken"},
		"managed by other stalls":  {err: store.Errorf(store.CodeManagedByOther, "", "theirs"), kind: outcomeStalled, reason: iamv1.ReasonManagedByOther, message: "theirs"},
		"invalid stalls":           {err: store.Errorf(store.CodeInvalid, "locale", "bad"), kind: outcomeStalled, reason: iamv1.ReasonStoreRejected, message: "locale: bad"},
		"unauthorized stalls":      {err: store.Errorf(store.CodeUnauthorized, "", "no"), kind: outcomeStalled, reason: iamv1.ReasonStoreRejected},
		"dependents stall":         {err: store.Errorf(store.CodeHasDependents, "", "envs"), kind: outcomeStalled, reason: iamv1.ReasonDependentsExist},
		"unknown reference waits":  {err: store.Errorf(store.CodeUnknownReference, "agency", "?"), kind: outcomeWaiting, reason: iamv1.ReasonAgencyNotReady},
		"wrapped errors are found": {err: errors.Join(errors.New("ctx"), store.Errorf(store.CodeEmailInUse, "", "taken")), kind: outcomeStalled, reason: iamv1.ReasonEmailInUse},
	}
	// Every outcome must carry a reason (the CRD's condition schema requires one),
	// also from a call site with no record to wait for.
	if got := fromStoreError(store.Errorf(store.CodeUnknownReference, "user", "?"), ""); got.kind != outcomeWaiting || got.reason == "" {
		t.Errorf("unknown reference without a dependency: kind %d, reason %q; want waiting with a reason", got.kind, got.reason)
	}
	if got := kubeFailed(errors.New("forbidden")); got.reason != iamv1.ReasonKubernetesAPIError {
		t.Errorf("an API server failure has reason %q, want %q (as docs/operations.md says)", got.reason, iamv1.ReasonKubernetesAPIError)
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got := fromStoreError(tc.err, iamv1.ReasonAgencyNotReady)
			if got.kind != tc.kind || got.reason != tc.reason {
				t.Errorf("got kind %d reason %q, want %d %q", got.kind, got.reason, tc.kind, tc.reason)
			}
			if tc.message != "" && got.message != tc.message {
				t.Errorf("message = %q, want %q", got.message, tc.message)
			}
			if (got.kind == outcomeFailed) != (got.err != nil) {
				t.Errorf("only failures carry an error back to the queue: %+v", got)
			}
		})
	}
}

func TestOutcomeResult(t *testing.T) {
	tm := timing{resync: 10 * time.Minute, wait: 5 * time.Second}
	boom := errors.New("boom")
	cases := map[string]struct {
		out     outcome
		min     time.Duration
		max     time.Duration
		wantErr bool
	}{
		"ready resyncs with jitter":   {out: ready("", ""), min: 10 * time.Minute, max: 11 * time.Minute},
		"stalled resyncs, not sooner": {out: stalled("", ""), min: 10 * time.Minute, max: 11 * time.Minute},
		"waiting comes back soon":     {out: waiting("", ""), min: 5 * time.Second, max: 5 * time.Second},
		"failure backs off":           {out: failed("", boom), wantErr: true},
		"gone is done":                {out: gone},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			res, err := tc.out.result(tm)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v", err)
			}
			if res.RequeueAfter < tc.min || res.RequeueAfter > tc.max {
				t.Errorf("RequeueAfter = %v, want in [%v, %v]", res.RequeueAfter, tc.min, tc.max)
			}
		})
	}
}

func TestInvitationSecretName(t *testing.T) {
	long := ""
	for len(long) < 260 {
		long += "abcdefghi."
	}
	cases := map[string]struct {
		user string
		want string
	}{
		"short": {user: "alice", want: "studio-invitation-alice"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if got := InvitationSecretName(tc.user); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
	got := InvitationSecretName(long)
	if len(got) > 253 || got == InvitationSecretName(long+"x") {
		t.Errorf("long names must be cut to 253 and stay distinct: %q", got)
	}
	for _, bad := range []string{".-", "-.", ".."} {
		if strings.Contains(got, bad) {
			t.Errorf("cut name %q has an empty or dashed label", got)
		}
	}
}

func TestUnknownGrant(t *testing.T) {
	cases := map[string]struct {
		err   error
		n     int
		index int
		ok    bool
	}{
		"environment scope":       {err: store.Errorf(store.CodeUnknownReference, "grants[2].scope.environment", "?"), n: 3, index: 2, ok: true},
		"agency scope":            {err: store.Errorf(store.CodeUnknownReference, "grants[0].scope.agency", "?"), n: 1, index: 0, ok: true},
		"index out of range":      {err: store.Errorf(store.CodeUnknownReference, "grants[3].scope.agency", "?"), n: 3},
		"not about a grant":       {err: store.Errorf(store.CodeUnknownReference, "agency", "?"), n: 3},
		"another code":            {err: store.Errorf(store.CodeInvalid, "grants[0].roles[0]", "?"), n: 3},
		"no error":                {n: 3},
		"transient is not parsed": {err: store.Unavailable(errors.New("down")), n: 3},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			i, ok := unknownGrant(tc.err, tc.n)
			if ok != tc.ok || (ok && i != tc.index) {
				t.Errorf("unknownGrant = %d, %v; want %d, %v", i, ok, tc.index, tc.ok)
			}
		})
	}
}
