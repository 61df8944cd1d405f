// Command plugin stands in for kubectl-studio in the tests of hack/dist: it imports
// nothing, so it compiles for another platform in seconds with an empty build cache,
// where the real plugin takes minutes; what dist does with a binary does not depend on
// what the binary does.
package main

func main() { println("kubectl-studio stand-in") }
