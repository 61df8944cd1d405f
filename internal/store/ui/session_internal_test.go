package ui

import (
	"testing"
	"time"

	"github.com/studio-operator/studio-operator/internal/store/auth"
	"github.com/studio-operator/studio-operator/internal/testclock"
)

func newFakeClock() *testclock.Clock {
	return testclock.New(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
}

func principal(name string) auth.Principal {
	return auth.Principal{Subject: name, Role: auth.RoleReader}
}

func TestSessionsEnd(t *testing.T) {
	clock := newFakeClock()
	s := newSessionStore(30*time.Minute, 2*time.Hour, clock.Now)
	id, sess := s.create(principal("ana"))
	if got, ok := s.lookup(id); !ok || got != sess {
		t.Fatal("a new session is not found")
	}
	if _, ok := s.lookup(id + "x"); ok {
		t.Error("another id finds the session")
	}
	// Used every 20 minutes it lives until its maximum age.
	for range 5 {
		clock.Advance(20 * time.Minute)
		if _, ok := s.lookup(id); !ok {
			t.Fatalf("the session ended while in use, at %s", clock.Now())
		}
	}
	clock.Advance(25 * time.Minute)
	if _, ok := s.lookup(id); ok {
		t.Error("the session outlived its maximum age")
	}
	idle, _ := s.create(principal("diego"))
	clock.Advance(31 * time.Minute)
	if _, ok := s.lookup(idle); ok {
		t.Error("an idle session outlived the idle timeout")
	}
	gone, _ := s.create(principal("sam"))
	s.end(gone)
	if _, ok := s.lookup(gone); ok {
		t.Error("a signed-out session is still found")
	}
}

func TestSessionsAreBounded(t *testing.T) {
	clock := newFakeClock()
	s := newSessionStore(time.Hour, time.Hour, clock.Now)
	s.maxSize = 3
	first, _ := s.create(principal("a"))
	for range 3 {
		clock.Advance(time.Second)
		s.create(principal("b"))
	}
	if len(s.byHash) != 3 {
		t.Errorf("%d sessions kept, want 3", len(s.byHash))
	}
	if _, ok := s.lookup(first); ok {
		t.Error("the oldest session was kept past the bound")
	}
}

func TestAttemptLimiter(t *testing.T) {
	clock := newFakeClock()
	l := newAttemptLimiter(clock.Now)
	for i := range perClientBurst {
		if ok, _ := l.allowed("10.0.0.1"); !ok {
			t.Fatalf("attempt %d refused", i+1)
		}
		l.failed("10.0.0.1")
	}
	ok, wait := l.allowed("10.0.0.1")
	if ok || wait <= 0 {
		t.Fatalf("after %d failures: allowed %v, wait %s", perClientBurst, ok, wait)
	}
	if ok, _ := l.allowed("10.0.0.2"); !ok {
		t.Error("another client is refused")
	}
	clock.Advance(perClientEvery)
	if ok, _ := l.allowed("10.0.0.1"); !ok {
		t.Error("the client is still refused after the refill interval")
	}
}
