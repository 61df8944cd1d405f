// Package failover proves that two manager replicas with leader election hand a
// fan-out over without harm when the leader dies in the middle of it. It is part of
// `go test ./...` and so of `make test`.
//
// The test builds the real manager and studio-store binaries, starts one envtest
// control plane (kube-apiserver and etcd), one store on SQLite that writes its mails
// to a directory, and two managers that elect a leader through a short Lease. It
// then binds 200 StudioUsers to an agency with one RoleBinding, SIGKILLs the leader
// once the store shows the first users granted, and checks that the other replica
// takes the Lease over within the lease duration plus a margin and finishes the
// work: every user Ready, one invitation mail each, the grants the cascade gives,
// and an audit chain that verifies.
//
// Every wait is bounded in attempts and in time, every child process is killed on
// exit, and servers listen on 127.0.0.1 only. Invitation links, tokens and email
// addresses never appear in the test's output.
package failover
