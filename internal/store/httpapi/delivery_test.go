package httpapi_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/studio-operator/studio-operator/internal/store"
	"github.com/studio-operator/studio-operator/internal/store/httpapi"
)

// TestInvitationDeliveryOverHTTP checks the wire shapes of delivery reports (the
// contract middleware validates each against openapi.yaml): the delivery member of
// an invitation, and the paged listing of undeliverable invitations with its errors.
func TestInvitationDeliveryOverHTTP(t *testing.T) {
	e := newEnv(t)
	r := e.do(t, request{method: http.MethodGet, path: "/api/v1/invitations/undeliverable", token: readerToken})
	if r.status != http.StatusOK || !strings.Contains(string(r.body), `"items":[]`) || !strings.Contains(string(r.body), `"next":null`) {
		t.Fatalf("empty listing = %d %s; want items [] and next null", r.status, r.body)
	}

	keys := []string{"alice", "bob", "carol"}
	for _, k := range keys {
		r := e.do(t, request{method: http.MethodPut, path: "/api/v1/users/" + k,
			json: store.UserSpec{Email: k + "@example.com", Type: "User"}, header: managed(nil)})
		if r.status != http.StatusCreated {
			t.Fatalf("PUT user = %d %s", r.status, r.body)
		}
		r = e.do(t, request{method: http.MethodPost, path: "/api/v1/users/" + k + "/invitations", header: managed(map[string]string{httpapi.HeaderIdempotencyKey: k})})
		if r.status != http.StatusOK || !strings.Contains(string(r.body), `"delivery":{"state":"Queued","attempts":0}`) {
			t.Fatalf("POST invitations = %d %s; want a queued delivery", r.status, r.body)
		}
	}
	// The worker gives up on every mail but carol's.
	ctx := context.Background()
	now := time.Now()
	msgs, err := e.store.ClaimOutbox(ctx, now, 10, time.Minute)
	if err != nil || len(msgs) != len(keys) {
		t.Fatalf("ClaimOutbox = %d messages, %v", len(msgs), err)
	}
	for _, m := range msgs {
		if m.To == "carol@example.com" {
			err = e.store.CompleteOutbox(ctx, m.ID, now)
		} else {
			err = e.store.FailOutbox(ctx, m.ID, now, fmt.Sprintf("permanent (smtp 550): 5.1.1 <%s>: no such user", m.To))
		}
		if err != nil {
			t.Fatal(err)
		}
	}

	r = e.do(t, request{method: http.MethodGet, path: "/api/v1/users/alice/invitation", token: readerToken})
	if r.status != http.StatusOK || !strings.Contains(string(r.body), `"delivery":{"state":"Failed","attempts":1,"replyClass":"5xx permanent"}`) {
		t.Fatalf("GET invitation = %d %s; want a failed delivery", r.status, r.body)
	}
	r = e.do(t, request{method: http.MethodGet, path: "/api/v1/users/carol/invitation", token: readerToken})
	if r.status != http.StatusOK || !strings.Contains(string(r.body), `"delivery":{"state":"Delivered","attempts":1}`) {
		t.Fatalf("GET invitation = %d %s; want a delivered one", r.status, r.body)
	}
	r = e.do(t, request{method: http.MethodPut, path: "/api/v1/users/dave", json: store.UserSpec{Email: "dave@example.com", Type: "User"}, header: managed(nil)})
	if r.status != http.StatusCreated {
		t.Fatalf("PUT user = %d %s", r.status, r.body)
	}
	r = e.do(t, request{method: http.MethodGet, path: "/api/v1/users/dave/invitation", token: readerToken})
	if r.status != http.StatusOK || strings.Contains(string(r.body), "delivery") {
		t.Fatalf("GET invitation of a user never invited = %d %s; want no delivery", r.status, r.body)
	}

	var users []string
	path := "/api/v1/invitations/undeliverable?limit=1"
	for range 10 {
		r := e.do(t, request{method: http.MethodGet, path: path, token: readerToken})
		if r.status != http.StatusOK {
			t.Fatalf("GET %s = %d %s", path, r.status, r.body)
		}
		if strings.Contains(string(r.body), "@") {
			t.Fatalf("the listing holds an address: %s", r.body)
		}
		var page store.UndeliverablePage
		r.decode(t, &page)
		for _, it := range page.Items {
			users = append(users, it.User)
			if it.ReplyClass != "5xx permanent" || it.SentAt.IsZero() {
				t.Errorf("item = %+v", it)
			}
		}
		if page.Next == nil {
			break
		}
		path = "/api/v1/invitations/undeliverable?limit=1&cursor=" + *page.Next
	}
	if diff := cmp.Diff([]string{"alice", "bob"}, users); diff != "" {
		t.Errorf("undeliverable users, paged by 1 (-want +got):\n%s", diff)
	}

	invalid := map[string]string{headerInvalid: "1"}
	for name, tc := range map[string]struct {
		req        request
		wantStatus int
		wantCode   store.Code
		wantField  string
	}{
		"no token":     {req: request{method: http.MethodGet, path: "/api/v1/invitations/undeliverable", token: noToken}, wantStatus: http.StatusUnauthorized, wantCode: store.CodeUnauthorized},
		"limit 0":      {req: request{method: http.MethodGet, path: "/api/v1/invitations/undeliverable?limit=0", header: invalid}, wantStatus: http.StatusUnprocessableEntity, wantCode: store.CodeInvalid, wantField: "limit"},
		"limit 1001":   {req: request{method: http.MethodGet, path: "/api/v1/invitations/undeliverable?limit=1001", header: invalid}, wantStatus: http.StatusUnprocessableEntity, wantCode: store.CodeInvalid, wantField: "limit"},
		"bad cursor":   {req: request{method: http.MethodGet, path: "/api/v1/invitations/undeliverable?cursor=nope!"}, wantStatus: http.StatusUnprocessableEntity, wantCode: store.CodeInvalid, wantField: "cursor"},
		"write method": {req: request{method: http.MethodPost, path: "/api/v1/invitations/undeliverable", header: map[string]string{headerOffSpec: "1"}}, wantStatus: http.StatusMethodNotAllowed},
	} {
		t.Run(name, func(t *testing.T) {
			r := e.do(t, tc.req)
			if r.status != tc.wantStatus {
				t.Fatalf("= %d %s, want %d", r.status, r.body, tc.wantStatus)
			}
			if tc.wantCode == "" {
				return
			}
			if p := r.problem(t); p.Code != tc.wantCode || p.Field != tc.wantField {
				t.Errorf("problem = %+v, want code %s field %q", p, tc.wantCode, tc.wantField)
			}
		})
	}
}
