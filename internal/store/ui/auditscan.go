package ui

import (
	"context"
	"slices"

	"github.com/studio-operator/studio-operator/internal/store"
)

// The store lists the audit log forwards, in seq order after a given seq; the pages
// show it newest first. newestAudit reads the entries of a filter that has few whole
// and reverses them; for one with many it reads backwards through windows of seq
// numbers: each window is read forwards, starting close below the point reached and
// growing while matches are sparse, so a page costs a few reads and never the whole
// log.

// auditReadLimit is the store's page size for one window read.
const auditReadLimit = 1000

// newestAudit returns up to n entries of f with seq below before (before <= 0: from
// the newest), newest first, and the before of the next, older page (0: none). n must
// be below auditReadLimit.
func newestAudit(ctx context.Context, api store.API, f store.AuditFilter, before int64, n int) ([]store.AuditEntry, int64, error) {
	// A filter with few entries (a user's, a quiet environment's) is read whole in one
	// forward read: one pass over the log, where the windows would take many. The
	// whole log is large, or cheap to read in windows.
	page := store.AuditPage{Next: new(int64)}
	if f.User != "" || f.Agency != "" || f.Environment != "" {
		first := f
		first.After, first.Limit = 0, auditReadLimit
		var err error
		if page, err = api.ListAudit(ctx, first); err != nil {
			return nil, 0, err
		}
	}
	var newest []store.AuditEntry
	var err error
	if page.Next == nil {
		for _, e := range slices.Backward(page.Entries) {
			if before <= 0 || e.Seq < before {
				newest = append(newest, e)
			}
		}
	} else if newest, err = newestInWindows(ctx, api, f, before, n+1); err != nil {
		return nil, 0, err
	}
	// One more than shown says whether an older page exists.
	if len(newest) > n {
		return newest[:n], newest[n-1].Seq, nil
	}
	return newest, 0, nil
}

// newestInWindows returns at least need entries of f below before (all when fewer
// exist), newest first, reading windows of seq numbers downwards.
func newestInWindows(ctx context.Context, api store.API, f store.AuditFilter, before int64, need int) ([]store.AuditEntry, error) {
	hi := before
	if hi <= 0 {
		last, err := lastAuditSeq(ctx, api, f)
		if err != nil || last == 0 {
			return nil, err
		}
		hi = last + 1
	}
	var newest []store.AuditEntry
	step := int64(2 * need)
	for hi > 1 && len(newest) < need {
		lo := max(0, hi-1-step)
		got, complete, err := auditWindow(ctx, api, f, lo, hi)
		if err != nil {
			return nil, err
		}
		if !complete {
			// More entries in the window than one read returns: the newest of them
			// are at its top, so narrow it from below.
			step = max(int64(need), step/4)
			continue
		}
		slices.Reverse(got)
		newest = append(newest, got...)
		hi, step = lo+1, step*4
		if lo == 0 {
			break
		}
	}
	return newest, nil
}

// auditWindow reads the entries of f with lo < seq < hi, in seq order; complete is
// false when the window holds more than one read returns.
func auditWindow(ctx context.Context, api store.API, f store.AuditFilter, lo, hi int64) ([]store.AuditEntry, bool, error) {
	f.After, f.Limit = lo, auditReadLimit
	page, err := api.ListAudit(ctx, f)
	if err != nil {
		return nil, false, err
	}
	out := page.Entries[:0:0]
	for _, e := range page.Entries {
		if e.Seq >= hi {
			return out, true, nil
		}
		out = append(out, e)
	}
	// The read stopped inside the window unless the store has no more or the last
	// entry is the window's top.
	complete := page.Next == nil || len(out) == 0 || out[len(out)-1].Seq >= hi-1
	return out, complete, nil
}

// lastAuditSeq returns the seq of the newest entry of f (0: none), with a galloping
// then binary search over "the first entry after seq x", each an indexed read.
func lastAuditSeq(ctx context.Context, api store.API, f store.AuditFilter) (int64, error) {
	firstAfter := func(x int64) (int64, error) {
		g := f
		g.After, g.Limit = x, 1
		page, err := api.ListAudit(ctx, g)
		if err != nil || len(page.Entries) == 0 {
			return 0, err
		}
		return page.Entries[0].Seq, nil
	}
	lo, err := firstAfter(0)
	if err != nil || lo == 0 {
		return 0, err
	}
	// Gallop: lo is an entry; find hi with no entry after it.
	hi := lo*2 + 1024
	for {
		s, err := firstAfter(hi)
		if err != nil {
			return 0, err
		}
		if s == 0 {
			break
		}
		lo, hi = s, s*2+1024
	}
	// Invariant: an entry has seq lo; none has seq > hi.
	for lo < hi {
		mid := lo + (hi-lo+1)/2
		s, err := firstAfter(mid - 1)
		if err != nil {
			return 0, err
		}
		if s == 0 {
			hi = mid - 1
		} else {
			lo = s
		}
	}
	return lo, nil
}
