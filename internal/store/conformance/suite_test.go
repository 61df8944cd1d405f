package conformance

import (
	"sync"
	"testing"
	"time"

	"github.com/studio-operator/studio-operator/internal/cascade"
	"github.com/studio-operator/studio-operator/internal/store"
)

func TestClock(t *testing.T) {
	c := NewClock(Start)
	var wg sync.WaitGroup
	for range 10 {
		wg.Go(func() { c.Advance(time.Second) })
	}
	wg.Wait()
	if got := c.Now(); !got.Equal(Start.Add(10 * time.Second)) {
		t.Fatalf("Now = %v, want start + 10s", got)
	}
}

func TestNormalizedMatchesTheStoreOrder(t *testing.T) {
	got := normalized([]store.Grant{
		envGrant("b.prod", cascade.Operator, cascade.Agent),
		agencyGrant("zeta", cascade.Planner),
		envGrant("a.prod"),
		agencyGrant("acme", cascade.Producer, cascade.Analyst),
	})
	want := []store.Grant{
		agencyGrant("acme", cascade.Analyst, cascade.Producer),
		agencyGrant("zeta", cascade.Planner),
		envGrant("a.prod"),
		envGrant("b.prod", cascade.Agent, cascade.Operator),
	}
	diff(t, "normalized", want, got)
}

func TestAllCasesHaveUniqueNames(t *testing.T) {
	seen := map[string]bool{}
	for _, c := range allCases() {
		if seen[c.name] {
			t.Fatalf("case %q appears twice", c.name)
		}
		seen[c.name] = true
	}
}
