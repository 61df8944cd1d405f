package ui

import (
	"context"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
	"sync"

	"github.com/studio-operator/studio-operator/internal/store"
)

// The store lists users page by page in key order (keyset pagination). The pages
// filter some things in the store (email, agency, environment) and others here (a
// search term, a state, access to an environment). userScan walks the store's pages
// and keeps what the filter keeps, with a bound on how many records one request may
// look at, so a page is served in bounded time however rare the matches are.

// scanPosition is where a scan resumes: a store cursor (the page starting there) and
// how many records of that page were already looked at. It travels in the pages'
// URLs as an opaque token; it holds keys, never emails or secrets.
type scanPosition struct {
	cursor string
	skip   int
}

// encode returns the position as a URL-safe token; "" is the start.
func (p scanPosition) encode() string {
	if p.cursor == "" && p.skip == 0 {
		return ""
	}
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.Itoa(p.skip) + ":" + p.cursor))
}

// decodePosition reads a token of encode; a token it cannot read is the start, so a
// mangled URL shows the first page instead of an error.
func decodePosition(token string) scanPosition {
	b, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil {
		return scanPosition{}
	}
	n, cursor, ok := strings.Cut(string(b), ":")
	skip, err := strconv.Atoi(n)
	if !ok || err != nil || skip < 0 || skip > maxStorePage {
		return scanPosition{}
	}
	return scanPosition{cursor: cursor, skip: skip}
}

// Scan sizes.
const (
	// maxStorePage is the store's largest page.
	maxStorePage = 1000
	// filteredBatch is the store page size when this side filters too.
	filteredBatch = 500
)

// userScan is one scan request.
type userScan struct {
	// filter is what the store filters on; its Cursor and Limit are set by the scan.
	filter store.UserFilter
	// keep, if set, is the filter on this side; an error stops the scan.
	keep func(ctx context.Context, u store.User) (bool, error)
	// want is the number of users of a page.
	want int
	// budget bounds the records looked at in one request.
	budget int
	// batch is the store page size; 0 means want, or filteredBatch with keep.
	batch int
	// readers > 1 runs keep on that many users at a time (for a keep that reads
	// the store).
	readers int
}

// scanResult is one page of a scan.
type scanResult struct {
	users []store.User
	// next resumes after the page; nil at the end.
	next *scanPosition
	// looked is how many records were looked at; partial says the budget ran out
	// before the page was full.
	looked  int
	partial bool
}

// run reads from pos until want users are kept, the store has no more, or the budget
// is spent.
func (s userScan) run(ctx context.Context, api store.API, pos scanPosition) (scanResult, error) {
	batch := s.batch
	switch {
	case batch > 0:
	case s.keep != nil:
		batch = filteredBatch
	default:
		batch = s.want
	}
	var res scanResult
	// Every call looks at one record at least, so the budget bounds the calls; the
	// bound on calls only guards against a store that returns empty pages.
	for calls := 0; calls <= s.budget; calls++ {
		f := s.filter
		f.Cursor, f.Limit = pos.cursor, batch
		if pos.skip > 0 {
			// Resuming inside a page: read it as it was read before.
			f.Limit = max(batch, pos.skip+1)
		}
		page, err := api.ListUsers(ctx, f)
		if err != nil {
			return scanResult{}, err
		}
		items := page.Items
		if pos.skip < len(items) {
			items = items[pos.skip:]
		} else {
			items = nil
		}
		for start := 0; start < len(items); {
			end := min(len(items), start+s.budget-res.looked)
			if s.readers > 1 {
				end = min(end, start+2*s.readers)
			}
			kept, err := s.evaluate(ctx, items[start:end])
			if err != nil {
				return scanResult{}, err
			}
			for j, ok := range kept {
				res.looked++
				if ok {
					res.users = append(res.users, items[start+j])
				}
				if len(res.users) == s.want || res.looked >= s.budget {
					res.partial = len(res.users) < s.want
					res.next = after(pos, page, pos.skip+start+j+1)
					return res, nil
				}
			}
			start = end
		}
		if page.Next == nil {
			return res, nil
		}
		pos = scanPosition{cursor: *page.Next}
	}
	res.partial, res.next = true, &pos
	return res, nil
}

// evaluate applies keep to users, with up to readers at a time.
func (s userScan) evaluate(ctx context.Context, users []store.User) ([]bool, error) {
	kept := make([]bool, len(users))
	if s.keep == nil {
		for i := range kept {
			kept[i] = true
		}
		return kept, nil
	}
	if s.readers <= 1 {
		for i, u := range users {
			ok, err := s.keep(ctx, u)
			if err != nil {
				return nil, err
			}
			kept[i] = ok
		}
		return kept, nil
	}
	errs := make([]error, len(users))
	slots := make(chan struct{}, s.readers)
	var wg sync.WaitGroup
	for i, u := range users {
		slots <- struct{}{}
		wg.Go(func() {
			defer func() { <-slots }()
			kept[i], errs[i] = s.keep(ctx, u)
		})
	}
	wg.Wait()
	return kept, errors.Join(errs...)
}

// after is the position after the first n records of the page read at pos.
func after(pos scanPosition, page store.UserPage, n int) *scanPosition {
	if n < len(page.Items) {
		return &scanPosition{cursor: pos.cursor, skip: n}
	}
	if page.Next == nil {
		return nil
	}
	return &scanPosition{cursor: *page.Next}
}
