package client_test

import (
	"context"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"github.com/studio-operator/studio-operator/internal/store"
	"github.com/studio-operator/studio-operator/internal/store/auth"
	"github.com/studio-operator/studio-operator/internal/store/client"
	"github.com/studio-operator/studio-operator/internal/store/conformance"
	"github.com/studio-operator/studio-operator/internal/store/httpapi"
	"github.com/studio-operator/studio-operator/internal/store/sqlstore"
)

// actors are the token subjects the suite writes as (its Caller.Actor values), plus
// the subject used for reads.
var actors = []string{"operator", "operator-2", "jane", "reads"}

// TestStoreContractOverHTTP runs the store's behavioural suite through the Go client,
// the HTTP server and a SQLite file: the wire path must behave exactly like the
// in-process store.
func TestStoreContractOverHTTP(t *testing.T) {
	conformance.Run(t, func(t *testing.T, cfg conformance.Config) store.API {
		return newWireAPI(t, cfg)
	})
}

// newWireAPI serves a fresh SQLite store over HTTP on 127.0.0.1 and returns a
// client per actor.
func newWireAPI(t *testing.T, cfg conformance.Config) store.API {
	t.Helper()
	st, err := sqlstore.Open(context.Background(), "sqlite://"+filepath.Join(t.TempDir(), "store.db"), sqlstore.Options{
		PublicURL: cfg.PublicURL, InvitationTTL: cfg.InvitationTTL, Clock: cfg.Clock,
	})
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { _ = st.Close() })
	tokens := &auth.Tokens{}
	for _, a := range actors {
		if err := tokens.Add(auth.RoleAdmin, a, "token-of-"+a); err != nil {
			t.Fatal(err)
		}
	}
	h, err := httpapi.New(st, tokens, httpapi.Options{})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	w := &actorClients{byActor: map[string]*client.Client{}, Outbox: st}
	for _, a := range actors {
		c, err := client.New(srv.URL, client.Options{Token: "token-of-" + a})
		if err != nil {
			t.Fatal(err)
		}
		w.byActor[a] = c
	}
	w.Client = w.byActor["reads"]
	return w
}

// actorClients sends each write with the token of its Caller.Actor, since over the
// wire the actor is the token's subject and not something a client can claim. The
// outbox is the served store's own, as the mail worker reaches it in-process: the
// suite's delivery cases settle mail through it and read the outcome over the wire.
type actorClients struct {
	*client.Client // reads
	store.Outbox
	byActor map[string]*client.Client
}

func (w *actorClients) as(c store.Caller) *client.Client {
	if cl, ok := w.byActor[c.Actor]; ok {
		return cl
	}
	return w.Client
}

func (w *actorClients) PutAgency(ctx context.Context, c store.Caller, key string, spec store.AgencySpec) (store.Agency, store.Outcome, error) {
	return w.as(c).PutAgency(ctx, c, key, spec)
}

func (w *actorClients) DeleteAgency(ctx context.Context, c store.Caller, key string) error {
	return w.as(c).DeleteAgency(ctx, c, key)
}

func (w *actorClients) PutEnvironment(ctx context.Context, c store.Caller, key string, spec store.EnvironmentSpec) (store.Environment, store.Outcome, error) {
	return w.as(c).PutEnvironment(ctx, c, key, spec)
}

func (w *actorClients) DeleteEnvironment(ctx context.Context, c store.Caller, key string) error {
	return w.as(c).DeleteEnvironment(ctx, c, key)
}

func (w *actorClients) PutUser(ctx context.Context, c store.Caller, key string, spec store.UserSpec) (store.User, store.Outcome, error) {
	return w.as(c).PutUser(ctx, c, key, spec)
}

func (w *actorClients) RemoveUser(ctx context.Context, c store.Caller, key string) (store.User, error) {
	return w.as(c).RemoveUser(ctx, c, key)
}

func (w *actorClients) PutGrants(ctx context.Context, c store.Caller, key string, grants []store.Grant) (store.GrantSet, error) {
	return w.as(c).PutGrants(ctx, c, key, grants)
}

func (w *actorClients) SendInvitation(ctx context.Context, c store.Caller, key, idempotencyKey string) (store.Invitation, error) {
	return w.as(c).SendInvitation(ctx, c, key, idempotencyKey)
}

func (w *actorClients) RecordActivity(ctx context.Context, c store.Caller, key string) (store.User, error) {
	return w.as(c).RecordActivity(ctx, c, key)
}
