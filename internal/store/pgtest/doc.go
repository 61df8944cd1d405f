// Package pgtest starts a real, throwaway PostgreSQL server for tests: no Docker, no
// mocks, just the initdb and postgres binaries of the machine.
//
// One server is shared by a test binary (starting one costs about a second); every
// test gets a database of its own. Use Main from TestMain so the server is stopped
// when the tests end:
//
//	func TestMain(m *testing.M) { pgtest.Main(m) }
//
//	func TestSomething(t *testing.T) {
//		dsn := pgtest.Start(t) // postgres://postgres@127.0.0.1:PORT/t_N?sslmode=disable
//		...
//	}
//
// The server listens on 127.0.0.1 only (Unix sockets live in its temporary directory)
// and trades durability for speed (fsync=off). When the tests run as root, as CI does,
// initdb and postgres run as the "postgres" system user, since PostgreSQL refuses to
// run as root.
package pgtest
