// Package controllers holds the operator's four reconcilers, one per kind, and
// SetupWithManager, which wires them (with their field indexes and watches) into a
// controller-runtime manager.
//
//   - StudioUserReconciler owns a user's whole state in the Studio user store:
//     profile, grant set (from every valid RoleBinding naming the user), invitation,
//     suspension and removal.
//   - RoleBindingReconciler resolves a binding's scope and subjects and reports, per
//     subject, whether it applies; it writes nothing to the store.
//   - EnvironmentReconciler and AgencyReconciler upsert their records and check
//     tenancy (which namespaces may hold an agency's environments).
//
// Each Reconcile reads top to bottom: get the object, defer one status patch, handle
// deletion and the finalizer, then run named steps that each return an outcome. The
// outcome decides the conditions (kstatus: Ready, Reconciling, Stalled) and the
// requeue: transient store errors retry with backoff, terminal ones stall until the
// object changes or the next resync, and waiting on another object requeues soon.
// The decisions themselves are pure functions in internal/operator/planner.
//
// RBAC: the markers above each Reconcile generate config/rbac/role.yaml, a ClusterRole
// with the four kinds (and their status and finalizers), events.k8s.io events,
// get/list/watch on Namespaces (tenancy selectors), and Secrets without list or watch:
// the invitation-link Secrets live in --namespace only and are read one by one from
// the API server, never cached. A ClusterRole cannot name that namespace; binding the
// Secret rule through a namespaced Role instead is a deployment choice.
//
// Audit context: every store write carries the object's Source,
// "<Kind>/<namespace>/<name>@<generation>", written "<Kind>/<name>@<generation>" for the
// cluster-scoped Agency and StudioUser, and OnBehalfOf from Argo CD tracking or the
// last field manager (internal/operator/provenance).
package controllers
