// Package cachetrim shrinks the objects the manager keeps in its informer cache.
// At 10,000 users the cache holds some 30,000 objects, and most of the manager's
// memory is their decoded form; the transform New returns, the cache's default
// transform, drops what no decision reads, shares what thousands of objects repeat,
// and keeps a user's status.access as a fingerprint (access.go).
package cachetrim
