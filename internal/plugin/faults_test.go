package plugin

import (
	"context"
	"errors"
	"testing"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/studio-operator/studio-operator/internal/store"
)

// faultyClients serves a scripted store and no cluster.
type faultyClients struct{ store store.API }

func (f faultyClients) Kube() (client.Client, error) {
	return nil, errors.New("no cluster in this test")
}
func (f faultyClients) Namespace() (string, error) { return "default", nil }
func (f faultyClients) Store() (store.API, error)  { return f.store, nil }

// scriptedAudit answers ListAudit from a function; every other method panics (the
// embedded nil interface), which fails the test if a command calls one.
type scriptedAudit struct {
	store.API
	listAudit func(f store.AuditFilter) (store.AuditPage, error)
	calls     int
}

func (s *scriptedAudit) ListAudit(_ context.Context, f store.AuditFilter) (store.AuditPage, error) {
	s.calls++
	return s.listAudit(f)
}

func TestAuditSurvivesAMisbehavingStore(t *testing.T) {
	at := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	entry := store.AuditEntry{Seq: 1, Time: at, Actor: "operator", Action: "user.created", Target: "user/ana"}
	cases := map[string]struct {
		list      func(f store.AuditFilter) (store.AuditPage, error)
		wantOut   string
		wantErr   string
		wantCode  int
		wantCalls int
	}{
		"a next cursor that does not advance ends the walk": {
			list: func(f store.AuditFilter) (store.AuditPage, error) {
				next := f.After // a broken server: always "more", never further
				return store.AuditPage{Entries: []store.AuditEntry{entry}, Next: &next}, nil
			},
			wantOut: "" +
				"SEQ   TIME                   ACTOR      ON BEHALF OF   ACTION         TARGET\n" +
				"1     2026-03-01T09:00:00Z   operator   -              user.created   user/ana\n",
			wantCalls: 1,
		},
		"pages are followed, newest first": {
			list: func(f store.AuditFilter) (store.AuditPage, error) {
				second := entry
				second.Seq, second.Action = 2, "grant.added"
				if !f.Desc {
					return store.AuditPage{}, errors.New("read forwards")
				}
				if f.Before == 0 {
					next := int64(2)
					return store.AuditPage{Entries: []store.AuditEntry{second}, Next: &next}, nil
				}
				return store.AuditPage{Entries: []store.AuditEntry{entry}}, nil
			},
			wantOut: "" +
				"SEQ   TIME                   ACTOR      ON BEHALF OF   ACTION         TARGET\n" +
				"1     2026-03-01T09:00:00Z   operator   -              user.created   user/ana\n" +
				"2     2026-03-01T09:00:00Z   operator   -              grant.added    user/ana\n",
			wantCalls: 2,
		},
		"a store that lists only in seq order (an older version) is read forwards": {
			list: func(f store.AuditFilter) (store.AuditPage, error) {
				if f.After == 0 {
					next := int64(1)
					return store.AuditPage{Entries: []store.AuditEntry{entry}, Next: &next}, nil
				}
				second := entry
				second.Seq, second.Action = 2, "grant.added"
				return store.AuditPage{Entries: []store.AuditEntry{second}}, nil
			},
			wantOut: "" +
				"SEQ   TIME                   ACTOR      ON BEHALF OF   ACTION         TARGET\n" +
				"1     2026-03-01T09:00:00Z   operator   -              user.created   user/ana\n" +
				"2     2026-03-01T09:00:00Z   operator   -              grant.added    user/ana\n",
			// Two newest-first reads (the second answers seq 1 again, so the store
			// ignored the direction), then two forwards.
			wantCalls: 4,
		},
		"the store fails": {
			list: func(store.AuditFilter) (store.AuditPage, error) {
				return store.AuditPage{}, store.Unavailable(errors.New("dial tcp 127.0.0.1:1: connection refused"))
			},
			wantErr:   "Error from the Studio user store (unavailable): store unavailable\n",
			wantCode:  1,
			wantCalls: 1,
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			s := &scriptedAudit{listAudit: tc.list}
			r := runPlugin(t, Options{Clients: faultyClients{store: s}}, at, "audit")
			r.want(t, tc.wantOut, tc.wantErr, tc.wantCode)
			if s.calls != tc.wantCalls {
				t.Errorf("%d ListAudit calls, want %d", s.calls, tc.wantCalls)
			}
		})
	}
}
