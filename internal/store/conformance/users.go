package conformance

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/studio-operator/studio-operator/internal/cascade"
	"github.com/studio-operator/studio-operator/internal/store"
)

var userCases = []testCase{
	{"UserUpsertIsIdempotent", func(h *harness) {
		spec := userSpec("alice@example.com")
		u, outcome, err := h.api.PutUser(h.ctx, operator, "alice", spec)
		if err != nil || outcome != store.Created {
			h.t.Fatalf("create: outcome %q, err %v", outcome, err)
		}
		want := store.User{Key: "alice", Email: spec.Email, DisplayName: spec.DisplayName, Type: cascade.UserTypeUser,
			Locale: "en", State: store.UserInvited, CreatedAt: Start, ManagedBy: "op-1"}
		diff(h.t, "created user", want, u)
		got, err := h.api.GetUser(h.ctx, "alice")
		if err != nil {
			h.t.Fatal(err)
		}
		diff(h.t, "GetUser", want, got)

		added := h.newActions(func() { _, outcome, err = h.api.PutUser(h.ctx, operator, "alice", spec) })
		if err != nil || outcome != store.Unchanged || len(added) != 0 {
			h.t.Fatalf("same user again: outcome %q, err %v, audit %v; want unchanged, nothing audited", outcome, err, added)
		}
		spec.DisplayName = "Alice A."
		added = h.newActions(func() { u, outcome, err = h.api.PutUser(h.ctx, operator, "alice", spec) })
		if err != nil || outcome != store.Updated || u.DisplayName != "Alice A." {
			h.t.Fatalf("update: %+v, outcome %q, err %v", u, outcome, err)
		}
		diff(h.t, "audit of the update", []string{store.ActionUserUpdated}, added)
		diff(h.t, "all audit of alice", []string{store.ActionUserCreated, store.ActionUserUpdated}, h.actions(store.AuditFilter{User: "alice"}))
	}},
	{"UserTypeDefaultsToUser", func(h *harness) {
		spec := userSpec("alice@example.com")
		spec.Type = ""
		u, _, err := h.api.PutUser(h.ctx, operator, "alice", spec)
		if err != nil || u.Type != cascade.UserTypeUser {
			h.t.Fatalf("PutUser without type = %+v, %v; want type User", u, err)
		}
	}},
	{"InvalidUserBodiesNameTheField", func(h *harness) {
		for name, tc := range map[string]struct {
			mutate func(*store.UserSpec)
			field  string
		}{
			"empty email":       {func(s *store.UserSpec) { s.Email = "" }, "email"},
			"email without @":   {func(s *store.UserSpec) { s.Email = "alice.example.com" }, "email"},
			"email with name":   {func(s *store.UserSpec) { s.Email = "Alice <alice@example.com>" }, "email"},
			"email with space":  {func(s *store.UserSpec) { s.Email = "alice @example.com" }, "email"},
			"email domainless":  {func(s *store.UserSpec) { s.Email = "alice@" }, "email"},
			"unknown type":      {func(s *store.UserSpec) { s.Type = "Robot" }, "type"},
			"bad locale":        {func(s *store.UserSpec) { s.Locale = "english please" }, "locale"},
			"long display name": {func(s *store.UserSpec) { s.DisplayName = strings.Repeat("x", 257) }, "displayName"},
		} {
			spec := userSpec("alice@example.com")
			tc.mutate(&spec)
			_, _, err := h.api.PutUser(h.ctx, operator, "alice", spec)
			if store.CodeOf(err) != store.CodeInvalid {
				h.t.Fatalf("%s: error %v, want invalid", name, err)
			}
			expectError(h.t, err, store.CodeInvalid, tc.field)
		}
		if n := h.auditLen(); n != 0 {
			h.t.Fatalf("refused writes left %d audit entries", n)
		}
	}},
	{"EmailIsUniqueAmongLiveUsers", func(h *harness) {
		h.user(operator, "alice", "alice@example.com")
		_, _, err := h.api.PutUser(h.ctx, operator, "alice2", userSpec("alice@example.com"))
		expectError(h.t, err, store.CodeEmailInUse, "")
		_, _, err = h.api.PutUser(h.ctx, operator, "alice2", userSpec("ALICE@example.com"))
		expectError(h.t, err, store.CodeEmailInUse, "")
		h.user(operator, "bob", "bob@example.com")
		_, _, err = h.api.PutUser(h.ctx, operator, "bob", userSpec("alice@example.com"))
		expectError(h.t, err, store.CodeEmailInUse, "")

		if _, err := h.api.RemoveUser(h.ctx, operator, "alice"); err != nil {
			h.t.Fatal(err)
		}
		u, outcome, err := h.api.PutUser(h.ctx, operator, "alice2", userSpec("alice@example.com"))
		if err != nil || outcome != store.Created || u.State != store.UserInvited {
			h.t.Fatalf("reuse the email of a removed user: %+v, %q, %v", u, outcome, err)
		}
		// The removed user cannot come back with the address now in use.
		_, _, err = h.api.PutUser(h.ctx, operator, "alice", userSpec("alice@example.com"))
		expectError(h.t, err, store.CodeEmailInUse, "")
	}},
	{"SuspendKeepsGrantsAndRevokesAccess", func(h *harness) {
		h.org()
		h.user(operator, "alice", "alice@example.com")
		h.grants(operator, "alice", agencyGrant("acme", cascade.Analyst))
		spec := userSpec("alice@example.com")
		spec.Suspended = true
		var u store.User
		var err error
		added := h.newActions(func() { u, _, err = h.api.PutUser(h.ctx, operator, "alice", spec) })
		if err != nil || u.State != store.UserSuspended || !u.Suspended {
			h.t.Fatalf("suspend: %+v, %v", u, err)
		}
		diff(h.t, "audit of suspension", []string{store.ActionUserSuspended}, added)
		access, err := h.api.GetAccess(h.ctx, "alice")
		if err != nil || len(access.Environments) != 0 {
			h.t.Fatalf("access of a suspended user = %+v, %v; want none", access, err)
		}
		set, err := h.api.GetGrants(h.ctx, "alice")
		if err != nil || len(set.Grants) != 1 {
			h.t.Fatalf("grants of a suspended user = %+v, %v; want kept", set, err)
		}
		spec.Suspended = false
		if u, _, err = h.api.PutUser(h.ctx, operator, "alice", spec); err != nil || u.State != store.UserInvited {
			h.t.Fatalf("lift suspension: %+v, %v", u, err)
		}
		access, err = h.api.GetAccess(h.ctx, "alice")
		if err != nil || len(access.Environments) != 2 {
			h.t.Fatalf("access after the suspension = %+v, %v; want both acme environments", access, err)
		}
	}},
	{"RemoveUserRevokesEverything", func(h *harness) {
		h.org()
		h.user(operator, "alice", "alice@example.com")
		h.grants(operator, "alice", agencyGrant("acme", cascade.Analyst, cascade.Developer), envGrant("team-a.prod", cascade.Agent), envGrant("team-a.staging"))
		if _, err := h.api.SendInvitation(h.ctx, operator, "alice", "k1"); err != nil {
			h.t.Fatal(err)
		}
		var u store.User
		var err error
		added := h.newActions(func() { u, err = h.api.RemoveUser(h.ctx, operator, "alice") })
		if err != nil || u.State != store.UserRemoved {
			h.t.Fatalf("RemoveUser = %+v, %v", u, err)
		}
		diff(h.t, "audit of the removal (sorted)", sortedCopy([]string{
			store.ActionInvitationWithdrawn,
			store.ActionGrantRemoved, store.ActionGrantRemoved, store.ActionGrantRemoved, store.ActionGrantRemoved,
			store.ActionUserRemoved,
		}), sortedCopy(added))
		if added[len(added)-1] != store.ActionUserRemoved {
			h.t.Fatalf("last entry of the removal = %s, want %s", added[len(added)-1], store.ActionUserRemoved)
		}
		got, err := h.api.GetUser(h.ctx, "alice")
		if err != nil || got.State != store.UserRemoved || got.Email != "alice@example.com" {
			h.t.Fatalf("removed user = %+v, %v; want the record kept, state Removed", got, err)
		}
		set, err := h.api.GetGrants(h.ctx, "alice")
		if err != nil || len(set.Grants) != 0 {
			h.t.Fatalf("grants after removal = %+v, %v", set, err)
		}
		access, err := h.api.GetAccess(h.ctx, "alice")
		if err != nil || len(access.Environments) != 0 {
			h.t.Fatalf("access after removal = %+v, %v", access, err)
		}
		inv, err := h.api.GetInvitation(h.ctx, "alice")
		if err != nil || inv.State != store.InvitationWithdrawn {
			h.t.Fatalf("invitation after removal = %+v, %v; want Withdrawn", inv, err)
		}

		added = h.newActions(func() { u, err = h.api.RemoveUser(h.ctx, operator, "alice") })
		if err != nil || u.State != store.UserRemoved || len(added) != 0 {
			h.t.Fatalf("removing again: %+v, %v, audit %v; want a no-op", u, err, added)
		}
		_, err = h.api.PutGrants(h.ctx, operator, "alice", []store.Grant{agencyGrant("acme", cascade.Analyst)})
		expectError(h.t, err, store.CodeUserRemoved, "")
		_, err = h.api.SendInvitation(h.ctx, operator, "alice", "k2")
		expectError(h.t, err, store.CodeUserRemoved, "")
		_, err = h.api.RecordActivity(h.ctx, operator, "alice")
		expectError(h.t, err, store.CodeUserRemoved, "")

		u, outcome, err := h.api.PutUser(h.ctx, operator, "alice", userSpec("alice@example.com"))
		if err != nil || outcome != store.Created || u.State != store.UserInvited {
			h.t.Fatalf("PutUser on a removed user = %+v, %q, %v; want it created again", u, outcome, err)
		}
		if set, err := h.api.GetGrants(h.ctx, "alice"); err != nil || len(set.Grants) != 0 {
			h.t.Fatalf("grants of the re-created user = %+v, %v; want none", set, err)
		}
		h.verify()
	}},
	{"RemoveMissingUserIsNotFound", func(h *harness) {
		_, err := h.api.RemoveUser(h.ctx, operator, "nobody")
		expectError(h.t, err, store.CodeNotFound, "")
	}},
	{"RecordActivityActivatesOnce", func(h *harness) {
		h.user(operator, "alice", "alice@example.com")
		h.clock.Advance(time.Hour)
		var u store.User
		var err error
		added := h.newActions(func() { u, err = h.api.RecordActivity(h.ctx, person, "alice") })
		if err != nil || u.State != store.UserActive || u.LastActiveAt == nil || !u.LastActiveAt.Equal(Start.Add(time.Hour)) {
			h.t.Fatalf("first activity = %+v, %v; want Active, lastActiveAt = now", u, err)
		}
		diff(h.t, "audit of the first activity", []string{store.ActionUserActivated}, added)
		h.clock.Advance(time.Hour)
		added = h.newActions(func() { u, err = h.api.RecordActivity(h.ctx, person, "alice") })
		if err != nil || !u.LastActiveAt.Equal(Start.Add(2*time.Hour)) || len(added) != 0 {
			h.t.Fatalf("later activity = %+v, %v, audit %v; want lastActiveAt moved, nothing audited", u, err, added)
		}
		got, err := h.api.GetUser(h.ctx, "alice")
		if err != nil || got.LastActiveAt == nil || !got.LastActiveAt.Equal(Start.Add(2*time.Hour)) {
			h.t.Fatalf("GetUser after activity = %+v, %v", got, err)
		}
		_, err = h.api.RecordActivity(h.ctx, person, "nobody")
		expectError(h.t, err, store.CodeNotFound, "")
	}},
	{"ListUsersFiltersAndPages", func(h *harness) {
		h.org()
		for _, k := range []string{"erin", "alice", "dave", "carol", "bob"} {
			h.user(operator, k, k+"@example.com")
		}
		h.grants(operator, "alice", agencyGrant("acme", cascade.Analyst))
		h.grants(operator, "bob", envGrant("team-a.prod", cascade.Agent))
		h.grants(operator, "carol", envGrant("team-b.prod", cascade.Agent))
		h.grants(operator, "dave", envGrant("team-a.staging"))
		if _, err := h.api.RemoveUser(h.ctx, operator, "erin"); err != nil {
			h.t.Fatal(err)
		}

		var keys []string
		cursor := ""
		for pages := 0; ; pages++ {
			page, err := h.api.ListUsers(h.ctx, store.UserFilter{Limit: 2, Cursor: cursor})
			if err != nil {
				h.t.Fatal(err)
			}
			if len(page.Items) > 2 || pages > 3 {
				h.t.Fatalf("page %d has %d items", pages, len(page.Items))
			}
			for _, u := range page.Items {
				keys = append(keys, u.Key)
			}
			if page.Next == nil {
				break
			}
			cursor = *page.Next
		}
		diff(h.t, "all users, paged by 2", []string{"alice", "bob", "carol", "dave", "erin"}, keys)

		for name, tc := range map[string]struct {
			filter store.UserFilter
			want   []string
		}{
			"email":             {store.UserFilter{Email: "carol@example.com"}, []string{"carol"}},
			"email any case":    {store.UserFilter{Email: "Carol@Example.com"}, []string{"carol"}},
			"agency":            {store.UserFilter{Agency: "acme"}, []string{"alice", "bob", "dave"}},
			"other agency":      {store.UserFilter{Agency: "globex"}, []string{"carol"}},
			"environment":       {store.UserFilter{Environment: "team-a.prod"}, []string{"bob"}},
			"environment block": {store.UserFilter{Environment: "team-a.staging"}, []string{"dave"}},
			"no match":          {store.UserFilter{Email: "zed@example.com"}, []string{}},
		} {
			page, err := h.api.ListUsers(h.ctx, tc.filter)
			if err != nil {
				h.t.Fatalf("%s: %v", name, err)
			}
			got := []string{}
			for _, u := range page.Items {
				got = append(got, u.Key)
			}
			diff(h.t, name, tc.want, got)
			if page.Next != nil {
				h.t.Fatalf("%s: a single page has a next cursor", name)
			}
		}
		_, err := h.api.ListUsers(h.ctx, store.UserFilter{Cursor: "not a cursor!"})
		expectError(h.t, err, store.CodeInvalid, "")
	}},
	{"ListUsersInEveryOrder", func(h *harness) {
		h.org()
		// Created one hour apart in this order, with emails in another and activity in
		// a third; alice and erin share a creation time, bob and dave were never active.
		for _, u := range []struct{ key, email string }{
			{"carol", "Zoe@example.com"}, {"alice", "mia@example.com"}, {"erin", "ava@example.com"},
			{"dave", "lea@example.com"}, {"bob", "noa@example.com"},
		} {
			if u.key != "erin" {
				h.clock.Advance(time.Hour)
			}
			h.user(operator, u.key, u.email)
		}
		for _, k := range []string{"erin", "alice", "carol"} {
			h.clock.Advance(time.Minute)
			if _, err := h.api.RecordActivity(h.ctx, person, k); err != nil {
				h.t.Fatal(err)
			}
		}
		h.grants(operator, "alice", agencyGrant("acme", cascade.Analyst))
		h.grants(operator, "bob", agencyGrant("acme", cascade.Analyst))
		h.grants(operator, "erin", agencyGrant("acme", cascade.Analyst))

		// listAll pages through f two at a time.
		listAll := func(f store.UserFilter) []string {
			keys := []string{}
			for pages := 0; ; pages++ {
				page, err := h.api.ListUsers(h.ctx, f)
				if err != nil {
					h.t.Fatalf("%+v: %v", f, err)
				}
				if len(page.Items) > f.Limit || pages > 5 {
					h.t.Fatalf("%+v: page %d has %d items", f, pages, len(page.Items))
				}
				for _, u := range page.Items {
					keys = append(keys, u.Key)
				}
				if page.Next == nil {
					return keys
				}
				f.Cursor = *page.Next
			}
		}
		for _, tc := range []struct {
			order store.UserOrder
			want  []string // ascending
		}{
			{store.OrderByKey, []string{"alice", "bob", "carol", "dave", "erin"}},
			{"", []string{"alice", "bob", "carol", "dave", "erin"}},
			{store.OrderByEmail, []string{"erin", "dave", "alice", "bob", "carol"}},
			{store.OrderByCreated, []string{"carol", "alice", "erin", "dave", "bob"}},
			{store.OrderByLastActive, []string{"bob", "dave", "erin", "alice", "carol"}},
		} {
			diff(h.t, fmt.Sprintf("by %q, paged by 2", tc.order), tc.want, listAll(store.UserFilter{Order: tc.order, Limit: 2}))
			desc := slices.Clone(tc.want)
			slices.Reverse(desc)
			diff(h.t, fmt.Sprintf("by %q descending, paged by 2", tc.order), desc, listAll(store.UserFilter{Order: tc.order, Desc: true, Limit: 2}))
		}
		diff(h.t, "agency acme by last activity, descending", []string{"alice", "erin", "bob"},
			listAll(store.UserFilter{Agency: "acme", Order: store.OrderByLastActive, Desc: true, Limit: 2}))

		// A cursor belongs to its order and direction.
		page, err := h.api.ListUsers(h.ctx, store.UserFilter{Order: store.OrderByCreated, Limit: 1})
		if err != nil || page.Next == nil {
			h.t.Fatalf("first page by creation = %+v, %v", page, err)
		}
		for _, f := range []store.UserFilter{
			{Cursor: *page.Next},
			{Order: store.OrderByCreated, Desc: true, Cursor: *page.Next},
			{Order: store.OrderByEmail, Cursor: *page.Next},
		} {
			_, err := h.api.ListUsers(h.ctx, f)
			expectError(h.t, err, store.CodeInvalid, "cursor")
		}
		_, err = h.api.ListUsers(h.ctx, store.UserFilter{Order: "name"})
		expectError(h.t, err, store.CodeInvalid, "order")
	}},
}
