// Command hello is a tiny program the tests build with the same toolchain settings as
// the real images, to check that a rebuild gives the same bytes. It imports nothing, so
// a build with an empty cache compiles little more than the runtime.
package main

func main() { println("hello") }
