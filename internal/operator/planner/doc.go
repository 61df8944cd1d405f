// Package planner holds the operator's pure decisions: which RoleBindings are valid and
// for whom, which grant set a user should have in the Studio, what effective access
// that gives (through internal/cascade, the same code as the store), whether the
// store's records already match, and whether an invitation is due.
//
// Nothing here talks to Kubernetes or the store. The controllers read the cluster into
// a Snapshot, call these functions, and apply the result; the tables in the tests pin
// the rules down.
package planner
