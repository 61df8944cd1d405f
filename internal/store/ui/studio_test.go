package ui_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/studio-operator/studio-operator/internal/cascade"
	"github.com/studio-operator/studio-operator/internal/store"
	"github.com/studio-operator/studio-operator/internal/store/auth"
	"github.com/studio-operator/studio-operator/internal/store/client"
	"github.com/studio-operator/studio-operator/internal/storeserver"
)

// Tokens of the test store: one admin, one reader.
const (
	adminToken  = "ui-test-admin-token-3f9a"
	readerToken = "ui-test-reader-token-77c1"
	// instance is the operator instance that manages the sample organisation.
	instance = "default"
)

// studio is a real studio-store, started in-process on 127.0.0.1 with a SQLite file
// and mails written to a directory, as `studio-store serve` runs it.
type studio struct {
	URL string
	// API is an admin client of its JSON API.
	API store.API
	// Log is everything the server logged.
	Log *syncBuffer
}

// syncBuffer is a log sink that tests read while the server writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func startStudio(t *testing.T) *studio {
	t.Helper()
	dir := t.TempDir()
	tokens := filepath.Join(dir, "tokens")
	lines := "admin admin " + auth.HashToken(adminToken) + "\nreader support " + auth.HashToken(readerToken) + "\n"
	if err := os.WriteFile(tokens, []byte(lines), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := storeserver.DefaultConfig()
	cfg.Listen = "127.0.0.1:0"
	cfg.DB = "sqlite://" + filepath.Join(dir, "studio.db")
	cfg.MailDir = filepath.Join(dir, "mail")
	cfg.TokensFile = tokens
	cfg.ShutdownTimeout = 10 * time.Second
	logs := &syncBuffer{}
	srv, err := storeserver.Start(context.Background(), cfg, slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	api, err := client.New(srv.URL(), client.Options{Token: adminToken, Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return &studio{URL: srv.URL(), API: api, Log: logs}
}

// sampleUser is a user of the sample organisation (config/samples) with the grants
// its RoleBindings give.
type sampleUser struct {
	key, email, name string
	typ              cascade.UserType
	suspended        bool
	grants           []store.Grant
}

func agencyGrant(roles ...cascade.Role) store.Grant {
	return store.Grant{Scope: store.Scope{Agency: "acme"}, Roles: roles}
}

func envGrant(env string, roles ...cascade.Role) store.Grant {
	if roles == nil {
		roles = []cascade.Role{}
	}
	return store.Grant{Scope: store.Scope{Environment: env}, Roles: roles}
}

// sampleUsers is what the operator writes for config/samples.
var sampleUsers = []sampleUser{
	{key: "olivia", email: "olivia@example.com", name: "Olivia Manager", grants: []store.Grant{agencyGrant(cascade.OrganisationManager)}},
	{key: "ana", email: "ana@example.com", name: "Ana Analyst", grants: []store.Grant{agencyGrant(cascade.Analyst), envGrant("team-sales.leadbot")}},
	{key: "diego", email: "diego@example.com", name: "Diego Developer", grants: []store.Grant{
		agencyGrant(cascade.Analyst), envGrant("team-sales.leadbot", cascade.ContentManager, cascade.Developer)}},
	{key: "alex", email: "alex@example.com", name: "Alex Agent", typ: cascade.UserTypeAgent, grants: []store.Grant{envGrant("team-support.webchat", cascade.Agent)}},
	{key: "sofia", email: "sofia@example.com", name: "Sofia Support", grants: []store.Grant{envGrant("team-support.whatsapp", cascade.Operator)}},
	{key: "sam", email: "sam@example.com", name: "Sam Seasonal", suspended: true, grants: []store.Grant{agencyGrant(cascade.Analyst)}},
}

// Users made by people in the Studio itself (no manager).
var studioUsers = []sampleUser{
	{key: "pat", email: "pat@example.com", name: "Pat Planner", grants: []store.Grant{envGrant("team-support.webchat", cascade.Planner)}},
	{key: "kim", email: "kim@example.com", name: "Kim Contractor", grants: []store.Grant{agencyGrant(cascade.Producer)}},
}

// seed writes the sample organisation as the operator instance "default" does (with
// provenance), and two users as a person in the Studio does; every user but the
// suspended one is invited. It returns the invitation links by user.
func seed(t *testing.T, s *studio) map[string]string {
	t.Helper()
	ctx := context.Background()
	op := func(kind, name string) store.Caller {
		return store.Caller{Manager: instance, OnBehalfOf: "argocd:acme", Source: kind + "/" + name + "@1"}
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	_, _, err := s.API.PutAgency(ctx, op("Agency", "acme"), "acme", store.AgencySpec{DisplayName: "ACME Corporation"})
	must(err)
	for _, e := range []struct{ key, name string }{
		{"team-support.webchat", "Website chat"}, {"team-support.whatsapp", "WhatsApp support"}, {"team-sales.leadbot", "Lead qualification bot"},
	} {
		_, _, err := s.API.PutEnvironment(ctx, op("Environment", e.key), e.key, store.EnvironmentSpec{Agency: "acme", DisplayName: e.name})
		must(err)
	}
	links := map[string]string{}
	write := func(u sampleUser, c store.Caller) {
		typ := u.typ
		if typ == "" {
			typ = cascade.UserTypeUser
		}
		_, _, err := s.API.PutUser(ctx, c, u.key, store.UserSpec{Email: u.email, DisplayName: u.name, Type: typ, Locale: "en", Suspended: u.suspended})
		must(err)
		_, err = s.API.PutGrants(ctx, c, u.key, u.grants)
		must(err)
		if !u.suspended {
			inv, err := s.API.SendInvitation(ctx, c, u.key, "seed/"+u.key)
			must(err)
			links[u.key] = inv.Link
		}
	}
	for _, u := range sampleUsers {
		write(u, op("StudioUser", u.key))
	}
	for _, u := range studioUsers {
		write(u, store.Caller{})
	}
	// Diego signed in once.
	_, err = s.API.RecordActivity(ctx, store.Caller{}, "diego")
	must(err)
	return links
}

// linkStatus is the status of an invitation link, asked for as JSON.
func linkStatus(t *testing.T, link string) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, link, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}
