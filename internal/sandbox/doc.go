// Package sandbox is the one-process local sandbox behind `studio-dev up`:
// a real control plane (envtest: etcd and kube-apiserver) with the CRDs installed, the
// Studio user store on SQLite with its mail worker writing .eml files, and the operator's
// manager, all wired together and torn down in reverse order on shutdown.
//
// The sandbox publishes itself through files in its directory, which is all that demo
// scripts and end-to-end tests rely on:
//
//	DIR/kubeconfig     admin access to the sandbox apiserver
//	DIR/env            shell exports: KUBECONFIG, STUDIO_STORE_URL, STUDIO_STORE_TOKEN (0600)
//	DIR/ready          written last, atomically; removed on the way out
//	DIR/studio.db      the store (SQLite); DIR/mail/ the invitation mails
//	DIR/etcd/          the cluster state, so a restarted sandbox resumes where it stopped
//	DIR/studio-dev.log detailed logs of the manager, the store and the control plane
//	DIR/store-port     the store's port, kept for the directory so invitation links stay valid
//	DIR/run/           launchers of etcd and kube-apiserver and their pid files
//
// etcd and kube-apiserver die with the process that started them, even on SIGKILL
// (Linux, in binaries that call MaybeExecControlPlane); a start cleans up what a
// killed sandbox left on its directory.
//
// Progress lines for people go to Config.Progress (stderr in studio-dev); they never
// contain the store token or invitation links.
package sandbox
