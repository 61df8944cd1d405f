package conformance

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"

	"github.com/studio-operator/studio-operator/internal/cascade"
	"github.com/studio-operator/studio-operator/internal/store"
)

// listCases cover the paged listings a resync reads: ListGrants and ListEnvironments.
var listCases = []testCase{
	{"ListGrantsPagesEveryUserOnce", func(h *harness) {
		page, err := h.api.ListGrants(h.ctx, store.GrantFilter{})
		if err != nil || page.Items == nil || len(page.Items) != 0 || page.Next != nil {
			h.t.Fatalf("ListGrants on an empty store = %+v, %v; want items [] and no next", page, err)
		}
		h.org()
		var keys []string
		for i := range 23 {
			keys = append(keys, fmt.Sprintf("user-%02d", i))
		}
		// Keys that are prefixes of each other bound a page's key range exactly.
		keys = append(keys, "a", "ab", "abc", "user-1")
		// Created out of order: the listing is by key, not by creation.
		for _, i := range rand.New(rand.NewPCG(1, 2)).Perm(len(keys)) {
			h.user(operator, keys[i], keys[i]+"@example.com")
		}
		for i, k := range keys {
			switch i % 4 {
			case 0: // no grants
			case 1:
				h.grants(operator, k, envGrant("team-a.prod", cascade.Operator, cascade.Agent), agencyGrant("acme", cascade.Producer, cascade.Analyst))
			case 2:
				h.grants(operator, k, envGrant("team-b.prod", cascade.Agent), envGrant("team-a.staging"), agencyGrant("globex", cascade.Analyst))
			case 3:
				h.grants(operator, k, envGrant("team-a.staging"))
			}
		}
		// A removed user is listed, with no grants.
		if _, err := h.api.RemoveUser(h.ctx, operator, "user-05"); err != nil {
			h.t.Fatal(err)
		}
		slices.Sort(keys)

		items, pages := h.allGrants(4)
		if want := (len(keys) + 3) / 4; pages != want {
			h.t.Fatalf("%d users in pages of 4 took %d pages, want %d", len(keys), pages, want)
		}
		var got []string
		for _, it := range items {
			got = append(got, it.User)
		}
		diff(h.t, "users listed, paged by 4", keys, got)
		for _, it := range items {
			set, err := h.api.GetGrants(h.ctx, it.User)
			if err != nil {
				h.t.Fatal(err)
			}
			diff(h.t, "grants of "+it.User+" (ListGrants vs GetGrants)", set.Grants, it.Grants)
		}
		byUser := map[string][]store.Grant{}
		for _, it := range items {
			byUser[it.User] = it.Grants
		}
		diff(h.t, "grants of a user without grants", []store.Grant{}, byUser["user-00"])
		diff(h.t, "grants of a removed user", []store.Grant{}, byUser["user-05"])
		diff(h.t, "grants of user-02 (sorted, blocks kept as [])", []store.Grant{
			agencyGrant("globex", cascade.Analyst), envGrant("team-a.staging"), envGrant("team-b.prod", cascade.Agent),
		}, byUser["user-02"])

		page, err = h.api.ListGrants(h.ctx, store.GrantFilter{})
		if err != nil || len(page.Items) != len(keys) || page.Next != nil {
			h.t.Fatalf("default page = %d items, next %v, %v; want all %d users on one page", len(page.Items), page.Next, err, len(keys))
		}
		diff(h.t, "default page", items, page.Items)
	}},
	{"ListGrantsPageIsOneSnapshot", func(h *harness) {
		h.org()
		const users = 30
		for i := range users {
			key := fmt.Sprintf("user-%02d", i)
			h.user(operator, key, key+"@example.com")
			h.grants(operator, key, agencyGrant("globex", cascade.Analyst), envGrant("team-a.prod", cascade.Agent))
		}
		// Deleting the environment revokes its grants from every user in one
		// transaction: a page sees all of them or none.
		var wg sync.WaitGroup
		var deleteErr error
		done := make(chan struct{})
		wg.Go(func() {
			defer close(done)
			deleteErr = h.api.DeleteEnvironment(h.ctx, operator, "team-a.prod")
		})
		check := func() bool {
			page, err := h.api.ListGrants(h.ctx, store.GrantFilter{Limit: users})
			if err != nil {
				h.t.Fatal(err)
			}
			if len(page.Items) != users {
				h.t.Fatalf("page has %d users, want %d", len(page.Items), users)
			}
			with := 0
			for _, it := range page.Items {
				if slices.ContainsFunc(it.Grants, func(g store.Grant) bool { return g.Scope.Environment == "team-a.prod" }) {
					with++
				}
			}
			if with != 0 && with != users {
				h.t.Fatalf("one page shows the environment's grants on %d of %d users: not one snapshot", with, users)
			}
			return with == 0
		}
		for running := true; running; {
			select {
			case <-done:
				running = false
			default:
			}
			check()
		}
		wg.Wait()
		if deleteErr != nil {
			h.t.Fatal(deleteErr)
		}
		if !check() {
			h.t.Fatal("the environment's grants are listed after it was deleted")
		}
	}},
	{"ListCursorsAreTheirListingsOwn", func(h *harness) {
		h.org()
		for _, k := range []string{"alice", "bob", "carol"} {
			h.user(operator, k, k+"@example.com")
		}
		users, err := h.api.ListUsers(h.ctx, store.UserFilter{Limit: 1})
		if err != nil || users.Next == nil {
			h.t.Fatalf("ListUsers = %+v, %v; want a next cursor", users, err)
		}
		grants, err := h.api.ListGrants(h.ctx, store.GrantFilter{Limit: 1})
		if err != nil || grants.Next == nil {
			h.t.Fatalf("ListGrants = %+v, %v; want a next cursor", grants, err)
		}
		envs, err := h.api.ListEnvironments(h.ctx, store.EnvironmentFilter{Limit: 1})
		if err != nil || envs.Next == nil {
			h.t.Fatalf("ListEnvironments = %+v, %v; want a next cursor", envs, err)
		}
		for _, cursor := range []string{"not a cursor!", *users.Next, *envs.Next} {
			_, err = h.api.ListGrants(h.ctx, store.GrantFilter{Cursor: cursor})
			expectError(h.t, err, store.CodeInvalid, "cursor")
		}
		for _, cursor := range []string{"not a cursor!", *users.Next, *grants.Next} {
			_, err = h.api.ListEnvironments(h.ctx, store.EnvironmentFilter{Cursor: cursor})
			expectError(h.t, err, store.CodeInvalid, "cursor")
		}
		_, err = h.api.ListUsers(h.ctx, store.UserFilter{Cursor: *grants.Next})
		expectError(h.t, err, store.CodeInvalid, "cursor")
		// Each cursor still works where it belongs.
		if page, err := h.api.ListGrants(h.ctx, store.GrantFilter{Limit: 1, Cursor: *grants.Next}); err != nil || len(page.Items) != 1 || page.Items[0].User != "bob" {
			h.t.Fatalf("second page of grants = %+v, %v; want bob", page, err)
		}
	}},
	{"ListEnvironmentsFiltersAndPages", func(h *harness) {
		page, err := h.api.ListEnvironments(h.ctx, store.EnvironmentFilter{})
		if err != nil || page.Items == nil || len(page.Items) != 0 || page.Next != nil {
			h.t.Fatalf("ListEnvironments on an empty store = %+v, %v; want items [] and no next", page, err)
		}
		h.org()
		h.agency("initech", "Initech")
		for _, k := range []string{"team-c.prod", "team-c.dev", "team-c", "team-c.prod2"} {
			h.environment(k, "initech")
		}
		// A person's edit and a move to another agency show as GetEnvironment shows them.
		if _, _, err := h.api.PutEnvironment(h.ctx, person, "team-b.prod", store.EnvironmentSpec{Agency: "initech", DisplayName: "Moved"}); err != nil {
			h.t.Fatal(err)
		}
		if err := h.api.DeleteEnvironment(h.ctx, operator, "team-a.staging"); err != nil {
			h.t.Fatal(err)
		}
		all := []string{"team-a.prod", "team-b.prod", "team-c", "team-c.dev", "team-c.prod", "team-c.prod2"}

		items, pages := h.allEnvironments(store.EnvironmentFilter{Limit: 2})
		if pages != 3 {
			h.t.Fatalf("6 environments in pages of 2 took %d pages, want 3", pages)
		}
		var got []string
		for _, e := range items {
			got = append(got, e.Key)
			want, err := h.api.GetEnvironment(h.ctx, e.Key)
			if err != nil {
				h.t.Fatal(err)
			}
			diff(h.t, "environment "+e.Key+" (ListEnvironments vs GetEnvironment)", want, e)
		}
		diff(h.t, "environments, paged by 2", all, got)

		for name, tc := range map[string]struct {
			filter store.EnvironmentFilter
			want   []string
		}{
			"agency":          {store.EnvironmentFilter{Agency: "acme"}, []string{"team-a.prod"}},
			"agency, paged":   {store.EnvironmentFilter{Agency: "initech", Limit: 2}, []string{"team-b.prod", "team-c", "team-c.dev", "team-c.prod", "team-c.prod2"}},
			"agency, by one":  {store.EnvironmentFilter{Agency: "initech", Limit: 1}, []string{"team-b.prod", "team-c", "team-c.dev", "team-c.prod", "team-c.prod2"}},
			"no environments": {store.EnvironmentFilter{Agency: "globex"}, []string{}},
			"unknown agency":  {store.EnvironmentFilter{Agency: "umbrella"}, []string{}},
			"default size":    {store.EnvironmentFilter{}, all},
		} {
			items, _ := h.allEnvironments(tc.filter)
			got := []string{}
			for _, e := range items {
				got = append(got, e.Key)
				if tc.filter.Agency != "" && e.Agency != tc.filter.Agency {
					h.t.Fatalf("%s: %s of agency %s listed", name, e.Key, e.Agency)
				}
			}
			diff(h.t, name, tc.want, got)
		}
		page, err = h.api.ListEnvironments(h.ctx, store.EnvironmentFilter{Agency: "umbrella"})
		if err != nil || page.Items == nil || page.Next != nil {
			h.t.Fatalf("empty filtered page = %+v, %v; want items [] and no next", page, err)
		}
		_, err = h.api.ListEnvironments(h.ctx, store.EnvironmentFilter{Cursor: "not a cursor!"})
		expectError(h.t, err, store.CodeInvalid, "cursor")
	}},
}

// allGrants pages through ListGrants with limit and returns every item and the
// number of pages.
func (h *harness) allGrants(limit int) ([]store.UserGrants, int) {
	h.t.Helper()
	var out []store.UserGrants
	f := store.GrantFilter{Limit: limit}
	for pages := 1; pages <= 1000; pages++ {
		page, err := h.api.ListGrants(h.ctx, f)
		if err != nil {
			h.t.Fatalf("ListGrants: %v", err)
		}
		if limit > 0 && len(page.Items) > limit {
			h.t.Fatalf("page %d has %d items, limit %d", pages, len(page.Items), limit)
		}
		out = append(out, page.Items...)
		if page.Next == nil {
			return out, pages
		}
		f.Cursor = *page.Next
	}
	h.t.Fatal("ListGrants never reached the last page")
	return nil, 0
}

// allEnvironments pages through ListEnvironments from f and returns every item and
// the number of pages.
func (h *harness) allEnvironments(f store.EnvironmentFilter) ([]store.Environment, int) {
	h.t.Helper()
	var out []store.Environment
	for pages := 1; pages <= 1000; pages++ {
		page, err := h.api.ListEnvironments(h.ctx, f)
		if err != nil {
			h.t.Fatalf("ListEnvironments: %v", err)
		}
		if f.Limit > 0 && len(page.Items) > f.Limit {
			h.t.Fatalf("page %d has %d items, limit %d", pages, len(page.Items), f.Limit)
		}
		out = append(out, page.Items...)
		if page.Next == nil {
			return out, pages
		}
		f.Cursor = *page.Next
	}
	h.t.Fatal("ListEnvironments never reached the last page")
	return nil, 0
}
