// Package cascade computes a Studio user's effective access: which roles, and so which
// capabilities, the user has in each environment, given the role grants that apply at
// agency and environment scope.
//
// The rules (also in docs/architecture.md), for user u and environment e of agency a:
//
//  1. If u has at least one grant at environment scope on e (even one with no roles),
//     the effective roles are the union of those grants' roles; source Environment.
//  2. Otherwise they are the union of u's agency-scope grants on a; source Agency.
//  3. Suspended or removed users have no access; Agent-type users keep only the Agent
//     and Operator roles.
//  4. Capabilities are the union of the roles' capabilities, except notify, which holds
//     only when Agent or Operator comes from environment scope.
//
// The package is pure: no I/O, no clocks, deterministic output. The operator and the
// user store both use it, so what `kubectl get studiouser` shows and what the Studio
// enforces cannot disagree.
package cascade
