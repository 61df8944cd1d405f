package controllers

import (
	"context"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	iamv1 "github.com/studio-operator/studio-operator/api/v1alpha1"
	"github.com/studio-operator/studio-operator/internal/operator/metrics"
	"github.com/studio-operator/studio-operator/internal/operator/planner"
	"github.com/studio-operator/studio-operator/internal/operator/provenance"
	"github.com/studio-operator/studio-operator/internal/store"
)

// An external record is what the operator keeps in the store for an object: an
// Agency's record, an Environment's, a StudioUser's profile, and a user's grant set.
// Each is written the same way: observe the store's record, write it when it is not
// as wanted, and, when the write set back a change made outside the operator,
// announce the corrected drift (event DriftCorrected and the drift metric; the store
// audits it as drift.corrected). Observing reports facts; applyRecord decides.
//
// The grant set takes the same facts and the same drift rule, through the grant
// writer (grantwriter.go), because its write leaves out scopes the store does not
// know and is shared with the RoleBinding fan-out.

// recordFacts is what observing an external record found.
type recordFacts struct {
	// exists: the store has the record.
	exists bool
	// upToDate: the store's record is as wanted and managed by this instance;
	// nothing is written.
	upToDate bool
	// ours: the record is not known to be managed by anyone else (writing someone
	// else's record adopts it, which is no drift).
	ours bool
	// confirmed: what is wanted now had already been confirmed in the store: the
	// object's generation was reconciled before (Agency, Environment, profile), or
	// this process last saw the store hold exactly this grant set.
	confirmed bool
}

// driftCorrected is the one drift rule: a write that updated a record this
// instance manages, although what it wants had already been confirmed there, set
// back a change made outside the operator.
func (f recordFacts) driftCorrected(updated bool) bool {
	return updated && f.ours && f.confirmed
}

// externalRecord is one kind's record in the store, as wanted by one object.
type externalRecord[T any] interface {
	// observe returns the store's record (zero when it has none) and the facts.
	observe(ctx context.Context) (T, recordFacts, error)
	// write makes the store's record as wanted and returns it with the store's
	// outcome (Created, Updated or Unchanged).
	write(ctx context.Context) (T, store.Outcome, error)
}

// applyRecord writes rec unless facts say the record observed as cur is up to date,
// and announces a corrected drift of obj. It returns the record as the store has it
// now.
func applyRecord[T any](ctx context.Context, r *reconciler, obj client.Object, kind string, rec externalRecord[T], cur T, facts recordFacts) (T, error) {
	if facts.upToDate {
		return cur, nil
	}
	stored, outcome, err := rec.write(ctx)
	if err != nil {
		return stored, err
	}
	if facts.driftCorrected(outcome == store.Updated) {
		r.noteDrift(obj, kind)
	}
	return stored, nil
}

// reconciledBefore reports whether the object's current generation was already
// reconciled successfully: then a store record that differs from it was changed
// outside the operator (drift), not by a new spec.
func reconciledBefore(obj metav1.Object, conds []metav1.Condition) bool {
	c := meta.FindStatusCondition(conds, iamv1.ConditionReady)
	return c != nil && c.Status == metav1.ConditionTrue && c.ObservedGeneration == obj.GetGeneration()
}

// noteDrift announces a corrected drift of obj (the store audits it as
// drift.corrected).
func (r *reconciler) noteDrift(obj client.Object, kind string) {
	metrics.DriftCorrected.WithLabelValues(kind).Inc()
	r.normalEvent(obj, EventDriftCorrected, actionReconcile, "the Studio record was changed outside the operator; set back to the declared state")
}

// agencyRecord is an Agency's record: its display name, managed by this instance.
type agencyRecord struct {
	r *reconciler
	a *iamv1.Agency
}

func (rec agencyRecord) want() store.AgencySpec {
	return store.AgencySpec{DisplayName: rec.a.Spec.DisplayName}
}

func (rec agencyRecord) observe(ctx context.Context) (store.Agency, recordFacts, error) {
	got, err := rec.r.store.GetAgency(ctx, rec.a.Name)
	if store.IsNotFound(err) {
		return store.Agency{}, recordFacts{ours: true, confirmed: reconciledBefore(rec.a, rec.a.Status.Conditions)}, nil
	}
	if err != nil {
		return store.Agency{}, recordFacts{}, err
	}
	ours := got.ManagedBy == rec.r.opts.InstanceID
	return got, recordFacts{
		exists:    true,
		upToDate:  ours && got.DisplayName == rec.want().DisplayName,
		ours:      ours,
		confirmed: reconciledBefore(rec.a, rec.a.Status.Conditions),
	}, nil
}

func (rec agencyRecord) write(ctx context.Context) (store.Agency, store.Outcome, error) {
	caller := provenance.Caller(kindAgency, rec.a, rec.r.opts.InstanceID, FieldManager)
	return rec.r.store.PutAgency(ctx, caller, rec.a.Name, rec.want())
}

// environmentRecord is an Environment's record: its agency and display name,
// managed by this instance. It is observed in the store's listing, and a write is
// noted there.
type environmentRecord struct {
	r       *reconciler
	env     *iamv1.Environment
	key     string
	want    store.EnvironmentSpec
	listing *listing[store.Environment]
}

func (rec environmentRecord) observe(ctx context.Context) (store.Environment, recordFacts, error) {
	listed, ok := rec.listing.lookup(ctx, rec.key)
	ours := !ok || listed.ManagedBy == rec.r.opts.InstanceID
	return listed, recordFacts{
		exists:    ok,
		upToDate:  ok && ours && listed.Agency == rec.want.Agency && listed.DisplayName == rec.want.DisplayName,
		ours:      ours,
		confirmed: reconciledBefore(rec.env, rec.env.Status.Conditions),
	}, nil
}

func (rec environmentRecord) write(ctx context.Context) (store.Environment, store.Outcome, error) {
	caller := provenance.Caller(kindEnvironment, rec.env, rec.r.opts.InstanceID, FieldManager)
	stored, outcome, err := rec.r.store.PutEnvironment(ctx, caller, rec.key, rec.want)
	if err == nil {
		rec.listing.note(rec.key, stored)
	}
	return stored, outcome, err
}

// profileRecord is a StudioUser's profile: email, display name, type, locale and
// suspension, managed by this instance. It is observed in the store's listing of
// users (a user the listing does not show is written; the store makes an unchanged
// write a no-op), and a write is noted there.
type profileRecord struct {
	r    *StudioUserReconciler
	run  *userRun
	want store.UserSpec
}

func (rec profileRecord) observe(ctx context.Context) (store.User, recordFacts, error) {
	listed, ok := rec.r.directory.users.lookup(ctx, rec.run.key)
	return listed, recordFacts{
		exists:    ok,
		upToDate:  ok && planner.ProfileInSync(rec.want, listed, rec.r.opts.InstanceID),
		ours:      !ok || listed.ManagedBy == rec.r.opts.InstanceID,
		confirmed: reconciledBefore(rec.run.u, rec.run.u.Status.Conditions),
	}, nil
}

func (rec profileRecord) write(ctx context.Context) (store.User, store.Outcome, error) {
	return rec.r.store.PutUser(ctx, rec.run.caller, rec.run.key, rec.want)
}
