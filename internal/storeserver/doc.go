// Package storeserver runs the Studio user store as a process: it validates the
// configuration of `studio-store serve`, opens the SQL store, starts the HTTP API and
// the mail outbox worker, and stops them in order on shutdown. cmd/studio-store is a
// thin main around NewCommand; the local sandbox (studio-dev) embeds the store with
// Start.
package storeserver
