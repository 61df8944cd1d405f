package ui_test

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/studio-operator/studio-operator/internal/cascade"
	"github.com/studio-operator/studio-operator/internal/store"
)

// TestEveryPageRenders opens each read-only page signed in as admin and as reader.
func TestEveryPageRenders(t *testing.T) {
	s := startStudio(t)
	seed(t, s)
	for _, token := range []string{adminToken, readerToken} {
		b := newBrowserless(t, s.URL)
		b.mustSignIn(token)
		for _, path := range []string{
			"/ui/users", "/ui/users?q=an", "/ui/users?dir=desc&sort=created&state=Invited", "/ui/users?agency=acme",
			"/ui/users?environment=team-support.webchat", "/ui/users/diego", "/ui/users/diego/access",
			"/ui/users/diego/invitation", "/ui/users/diego/audit", "/ui/environments",
			"/ui/environments/team-support.webchat", "/ui/audit", "/ui/audit?user=diego",
		} {
			p := b.get(path)
			if p.status != http.StatusOK {
				t.Errorf("GET %s: %d\n%s", path, p.status, p.body)
			}
			if os.Getenv("UI_DUMP") != "" && token == adminToken {
				_ = os.WriteFile("/tmp/ui-dump"+strings.ReplaceAll(strings.ReplaceAll(path, "/", "_"), "?", "_")+".html", []byte(p.body), 0o644)
			}
		}
	}
}

var (
	rowUser  = regexp.MustCompile(`<tr data-user="([^"]+)"`)
	nextLink = regexp.MustCompile(`<a href="([^"]+)" id="next-page"`)
	prevLink = regexp.MustCompile(`<a href="([^"]+)" id="previous-page"`)
)

// TestOverviewPagesForwardAndBack follows "Next page" through every user and
// "Previous page" back, with and without a filter the pages apply themselves, and in
// an order of the store's other than by key.
func TestOverviewPagesForwardAndBack(t *testing.T) {
	s := startStudio(t)
	ctx := context.Background()
	var want []string
	for i := range 130 {
		key := fmt.Sprintf("person-%03d", i)
		spec := store.UserSpec{Email: key + "@example.com", DisplayName: fmt.Sprintf("Person %d", i), Type: cascade.UserTypeUser, Locale: "en", Suspended: i%3 == 0}
		if _, _, err := s.API.PutUser(ctx, store.Caller{}, key, spec); err != nil {
			t.Fatal(err)
		}
		want = append(want, key)
	}
	b := newBrowserless(t, s.URL)
	b.mustSignIn(adminToken)
	for _, tc := range []struct {
		start string
		keep  func(i int) bool
		// reversed: the pages list the users from the last key to the first.
		reversed bool
	}{
		{"/ui/users", func(int) bool { return true }, false},
		{"/ui/users?state=Invited", func(i int) bool { return i%3 != 0 }, false},
		{"/ui/users?dir=desc&sort=email", func(int) bool { return true }, true},
		{"/ui/users?dir=desc&sort=created&state=Invited", func(i int) bool { return i%3 != 0 }, true},
	} {
		var expected []string
		for i, k := range want {
			if tc.keep(i) {
				expected = append(expected, k)
			}
		}
		if tc.reversed {
			slices.Reverse(expected)
		}
		var got []string
		var pages [][]string
		path := tc.start
		for range 20 {
			p := b.get(path)
			if p.status != http.StatusOK {
				t.Fatalf("GET %s: %d", path, p.status)
			}
			var keys []string
			for _, m := range rowUser.FindAllStringSubmatch(p.body, -1) {
				keys = append(keys, m[1])
			}
			pages = append(pages, keys)
			got = append(got, keys...)
			m := nextLink.FindStringSubmatch(p.body)
			if m == nil {
				break
			}
			path = html.UnescapeString(m[1])
		}
		if len(pages) < 2 {
			t.Fatalf("%s: one page only; the case tests no paging", tc.start)
		}
		if !slices.Equal(got, expected) {
			t.Errorf("%s: paging forwards lists %d users, want %d in the page's order", tc.start, len(got), len(expected))
		}
		// And back, page by page, from the last.
		for i := len(pages) - 1; i > 0; i-- {
			m := prevLink.FindStringSubmatch(b.get(path).body)
			if m == nil {
				t.Fatalf("%s: page %d has no previous page", tc.start, i+1)
			}
			path = html.UnescapeString(m[1])
			var keys []string
			for _, m := range rowUser.FindAllStringSubmatch(b.get(path).body, -1) {
				keys = append(keys, m[1])
			}
			if !slices.Equal(keys, pages[i-1]) {
				t.Errorf("%s: previous of page %d shows %v, want %v", tc.start, i+1, keys, pages[i-1])
			}
		}
	}
}
