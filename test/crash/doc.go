// Package crash is the crash and fault harness of the studio-operator. It runs the
// real manager and the real studio-store as separate processes against one envtest
// API server, SIGKILLs the manager at random points of a scripted workload and the
// store in the middle of a fan-out, puts a fault-injecting reverse proxy between
// them (latency, 5xx answers, connection resets, and writes whose response is
// dropped after they committed), and then checks what must hold once the faults
// stop: one invitation mail per recorded send, the store's grant sets equal to what
// the planner derives from the final manifests, an intact audit chain, and every
// object kstatus Current with nothing left Reconciling.
//
// It also drives the mass-revocation guard end to end on an API server of its own:
// deleting the RoleBinding or the StudioUser CRD revokes nothing, and emptying the
// namespace that holds an agency's bindings is held beyond the agency's limit until
// the plan is approved.
//
// Everything is seeded (-crash.seed, printed) and bounded (-crash.kills, default
// 25). Invitation links, tokens and email addresses are never printed.
package crash
