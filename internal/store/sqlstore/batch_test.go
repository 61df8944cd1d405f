package sqlstore

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/studio-operator/studio-operator/internal/store"
	"github.com/studio-operator/studio-operator/internal/store/conformance"
)

// putAgencyWrite is a write that creates an agency (and audits it).
func putAgencyWrite(key string) writeFunc {
	return func(ctx context.Context, t *writeTx) error {
		if _, err := t.exec(ctx, "INSERT INTO agencies (key, display_name, managed_by, changed_by_person, created_at, updated_at) VALUES (?, '', '', ?, 0, 0)", key, false); err != nil {
			return err
		}
		t.record(auditEntry{action: store.ActionAgencyUpserted, target: agencyTarget(key), agency: key})
		return nil
	}
}

func request(fn writeFunc) *writeRequest {
	return &writeRequest{ctx: context.Background(), fn: fn, done: make(chan error, 1)}
}

func TestBatchKeepsWritesApart(t *testing.T) {
	refused := store.Errorf(store.CodeInvalid, "x", "refused before writing")
	for name, tc := range map[string]struct {
		middle     writeFunc
		wantMiddle store.Code
		fallback   bool
	}{
		"a refusal drops only its own write": {
			middle:     func(context.Context, *writeTx) error { return refused },
			wantMiddle: store.CodeInvalid,
		},
		"a failure after writing reruns the writes one by one": {
			middle: func(ctx context.Context, t *writeTx) error {
				if err := putAgencyWrite("half")(ctx, t); err != nil {
					return err
				}
				return errors.New("broke after writing")
			},
			wantMiddle: store.CodeInternal,
			fallback:   true,
		},
		"a database error reruns the writes one by one": {
			middle: func(ctx context.Context, t *writeTx) error {
				_, err := t.exec(ctx, "INSERT INTO environments (key, agency, display_name, created_at, updated_at) VALUES ('e', 'no-such-agency', '', 0, 0)")
				return err
			},
			wantMiddle: store.CodeUnknownReference,
			fallback:   true,
		},
	} {
		t.Run(name, func(t *testing.T) {
			eachBackend(t, func(t *testing.T, s *Store, _ *conformance.Clock) {
				batch := []*writeRequest{request(putAgencyWrite("first")), request(tc.middle), request(putAgencyWrite("last"))}
				fallbacks := s.committer.fallbacks.Load()
				s.commitBatch(batch)
				for i, want := range []store.Code{"", tc.wantMiddle, ""} {
					if got := store.CodeOf(<-batch[i].done); got != want {
						t.Fatalf("write %d: code %q, want %q", i, got, want)
					}
				}
				if fell := s.committer.fallbacks.Load() > fallbacks; fell != tc.fallback {
					t.Fatalf("fell back one by one: %v, want %v", fell, tc.fallback)
				}
				for _, key := range []string{"first", "last"} {
					if _, err := s.GetAgency(bg, key); err != nil {
						t.Fatalf("agency %s of a successful write: %v", key, err)
					}
				}
				if _, err := s.GetAgency(bg, "half"); !store.IsNotFound(err) {
					t.Fatalf("the half-done write left its agency: %v", err)
				}
				page, err := s.ListAudit(bg, store.AuditFilter{})
				if err != nil || len(page.Entries) != 2 || page.Entries[0].Target != "agency/first" || page.Entries[1].Target != "agency/last" {
					t.Fatalf("audit = %+v, %v; want the two successful writes, in order", page.Entries, err)
				}
				if v, err := s.VerifyAudit(bg); err != nil || !v.OK {
					t.Fatalf("VerifyAudit = %+v, %v", v, err)
				}
			})
		})
	}
}

func TestBatchSeesEarlierWrites(t *testing.T) {
	eachBackend(t, func(t *testing.T, s *Store, _ *conformance.Clock) {
		first := request(putAgencyWrite("acme"))
		var seen bool
		second := request(func(ctx context.Context, t *writeTx) error {
			var n int
			if err := t.queryRow(ctx, "SELECT COUNT(*) FROM agencies WHERE key = 'acme'").Scan(&n); err != nil {
				return err
			}
			seen = n == 1
			return nil
		})
		s.commitBatch([]*writeRequest{first, second})
		if err := errors.Join(<-first.done, <-second.done); err != nil {
			t.Fatal(err)
		}
		if !seen {
			t.Fatal("a write did not see the write before it in its batch")
		}
	})
}

func TestClosedStoreRefusesWrites(t *testing.T) {
	eachBackend(t, func(t *testing.T, s *Store, _ *conformance.Clock) {
		_ = s.Close()
		_, _, err := s.PutAgency(bg, testCaller, "acme", store.AgencySpec{})
		if !store.IsTransient(err) {
			t.Fatalf("write on a closed store = %v; want unavailable", err)
		}
	})
}

// A write submitted while the store closes — after the check for a closed store, but
// queued only once the committers drained their queues and returned — must get an
// answer, not wait forever (its caller may have no deadline).
func TestSubmitDuringCloseIsAnswered(t *testing.T) {
	eachBackend(t, func(t *testing.T, s *Store, _ *conformance.Clock) {
		c := newCommitter(s, 1)
		c.beforeEnqueue = c.close
		done := make(chan error, 1)
		go func() {
			done <- c.submit(context.Background(), &writeRequest{ctx: context.Background(), fn: putAgencyWrite("late")}, "agency/late")
		}()
		select {
		case err := <-done:
			if !store.IsCode(err, store.CodeUnavailable) {
				t.Errorf("a write submitted during close got %v, want unavailable", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("a write submitted during close is still waiting for an answer")
		}
	})
}
