// Package cachetrim shrinks the objects the manager keeps in its informer cache.
// At 10,000 users the cache holds some 30,000 objects, and most of the manager's
// memory is their decoded form; Transform, the cache's default transform, drops what
// no decision reads and shares what thousands of objects repeat.
package cachetrim
