// Package scale is the end-to-end scale benchmark of the studio-operator (`make
// bench-e2e`, main in hack/bench-e2e). It answers whether the manager keeps up with a
// large organisation on real components: envtest's kube-apiserver and etcd, the
// studio-store binary on SQLite and the manager binary with its shipped defaults.
//
// Each size is measured twice on fresh control planes. The floor run converges the
// organisation with an in-process controller that only marks every object Ready
// (one status patch each, no client-side limit): the least any controller must
// cost on this machine. The manager run converges it with the real manager, and the
// ratio of the two separates what the operator adds from what the API server and the
// machine cost. On the manager run the harness then measures a fan-out (one role
// added to a binding with many subjects, timed through the store's audit log), one
// idle resync period (store requests, API writes, audit entries), the manager's
// memory, the invitation mails (exactly one per user), and finally the store's
// paged listing of many users on a store of its own.
//
// Every wait is bounded, every child process runs in its own process group and is
// stopped with SIGTERM then SIGKILL, and control planes are stopped on every path.
// Tokens never leave the environment of the child that needs them.
//
// The results go to a region of a Markdown file (between RegionBegin and RegionEnd,
// the rest of the file untouched), to standard output and to a JSON file next to the
// work directory.
package scale
