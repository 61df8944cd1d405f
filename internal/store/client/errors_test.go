package client

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/studio-operator/studio-operator/internal/store"
)

const secretToken = "s3cret-token-never-in-errors"

// These tests inject faults with hand-written answers; the behaviour against the
// real server is covered by the wire tests.

func TestErrorMapping(t *testing.T) {
	problem := func(status int, code, field string) func(w http.ResponseWriter) {
		return func(w http.ResponseWriter) {
			w.Header().Set("Content-Type", "application/problem+json")
			w.WriteHeader(status)
			_, _ = w.Write([]byte(`{"type":"x","title":"t","status":` + strconv.Itoa(status) + `,"detail":"the detail","code":"` + code + `","field":"` + field + `"}`))
		}
	}
	plain := func(status int, ct, body string) func(w http.ResponseWriter) {
		return func(w http.ResponseWriter) {
			w.Header().Set("Content-Type", ct)
			w.WriteHeader(status)
			_, _ = w.Write([]byte(body))
		}
	}
	cases := map[string]struct {
		answer        func(w http.ResponseWriter)
		wantCode      store.Code
		wantField     string
		wantMessage   string
		wantTransient bool
	}{
		"invalid with field": {answer: problem(422, "invalid", "grants[0].roles[0]"), wantCode: store.CodeInvalid, wantField: "grants[0].roles[0]", wantMessage: "the detail"},
		"unknown reference":  {answer: problem(422, "unknown-reference", "agency"), wantCode: store.CodeUnknownReference, wantField: "agency", wantMessage: "the detail"},
		"not found":          {answer: problem(404, "not-found", ""), wantCode: store.CodeNotFound, wantMessage: "the detail"},
		"managed by other":   {answer: problem(409, "managed-by-other", ""), wantCode: store.CodeManagedByOther, wantMessage: "the detail"},
		"gone":               {answer: problem(410, "invitation-gone", ""), wantCode: store.CodeInvitationGone, wantMessage: "the detail"},
		"unauthorized":       {answer: problem(401, "unauthorized", ""), wantCode: store.CodeUnauthorized, wantMessage: "the detail"},
		"forbidden":          {answer: problem(403, "forbidden", ""), wantCode: store.CodeForbidden, wantMessage: "the detail"},
		"too large":          {answer: problem(413, "too-large", "body"), wantCode: "too-large", wantField: "body", wantMessage: "the detail"},
		"internal problem":   {answer: problem(500, "internal", ""), wantCode: store.CodeUnavailable, wantMessage: "the detail", wantTransient: true},
		"unavailable":        {answer: problem(503, "unavailable", ""), wantCode: store.CodeUnavailable, wantMessage: "the detail", wantTransient: true},
		"rate limited":       {answer: plain(429, "text/plain", "slow down"), wantCode: store.CodeUnavailable, wantMessage: "store answered 429", wantTransient: true},
		"proxy 502 page":     {answer: plain(502, "text/html", "<h1>Bad gateway</h1>"), wantCode: store.CodeUnavailable, wantMessage: "store answered 502", wantTransient: true},
		"proxy 404 page":     {answer: plain(404, "text/html", "<h1>nope</h1>"), wantCode: store.CodeNotFound, wantMessage: "store answered 404"},
		"bare 401":           {answer: plain(401, "text/plain", ""), wantCode: store.CodeUnauthorized, wantMessage: "store answered 401"},
		"bare 403":           {answer: plain(403, "text/plain", ""), wantCode: store.CodeForbidden, wantMessage: "store answered 403"},
		"bare 400":           {answer: plain(400, "text/plain", ""), wantCode: store.CodeInvalid, wantMessage: "store answered 400"},
		"garbled 200":        {answer: plain(200, "application/json", "{"), wantCode: store.CodeInternal, wantMessage: errBadResponse, wantTransient: true},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { tc.answer(w) }))
			defer srv.Close()
			c, err := New(srv.URL, Options{Token: secretToken})
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.GetUser(context.Background(), "alice")
			var se *store.Error
			if !errors.As(err, &se) {
				t.Fatalf("error %v is not a *store.Error", err)
			}
			got := struct {
				Code      store.Code
				Field     string
				Message   string
				Transient bool
			}{se.Code, se.Field, se.Message, store.IsTransient(err)}
			want := struct {
				Code      store.Code
				Field     string
				Message   string
				Transient bool
			}{tc.wantCode, tc.wantField, tc.wantMessage, tc.wantTransient}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("error (-want +got):\n%s", diff)
			}
			if strings.Contains(err.Error(), secretToken) {
				t.Error("the token is in the error")
			}
		})
	}
}

func TestNetworkFailuresAreTransient(t *testing.T) {
	// A port that was just closed: connection refused.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()

	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	}))
	defer slow.Close()

	cases := map[string]struct {
		url     string
		timeout time.Duration
	}{
		"connection refused": {url: "http://" + addr},
		"timeout":            {url: slow.URL, timeout: 50 * time.Millisecond},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			c, err := New(tc.url, Options{Token: secretToken, Timeout: tc.timeout})
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.GetUser(context.Background(), "alice-key")
			if !store.IsCode(err, store.CodeUnavailable) || !store.IsTransient(err) {
				t.Fatalf("error = %v, want transient unavailable", err)
			}
			for _, leak := range []string{secretToken, "alice-key"} {
				if strings.Contains(err.Error(), leak) || strings.Contains(errors.Unwrap(err).Error(), leak) {
					t.Errorf("error %q contains %q", err, leak)
				}
			}
		})
	}
}

func TestNewRejectsBadURLs(t *testing.T) {
	cases := map[string]string{
		"empty":            "",
		"no scheme":        "127.0.0.1:8080",
		"ftp":              "ftp://store",
		"query":            "http://store/?x=1",
		"fragment":         "http://store/#x",
		"no host":          "http:///api",
		"userinfo":         "http://user:pass@store",
		"not a url at all": "http://[::1",
	}
	for name, u := range cases {
		t.Run(name, func(t *testing.T) {
			if _, err := New(u, Options{}); err == nil {
				t.Errorf("New(%q) succeeded", u)
			}
		})
	}
}

func TestEmptyKeysAreRefusedLocally(t *testing.T) {
	requests := 0
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { requests++ }))
	defer srv.Close()
	c, err := New(srv.URL, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetUser(context.Background(), ""); !store.IsCode(err, store.CodeInvalid) {
		t.Errorf("GetUser(\"\") = %v", err)
	}
	if _, _, err := c.PutAgency(context.Background(), store.Caller{}, "", store.AgencySpec{}); !store.IsCode(err, store.CodeInvalid) {
		t.Errorf("PutAgency(\"\") = %v", err)
	}
	if requests != 0 {
		t.Errorf("%d requests sent for empty keys", requests)
	}
}

func TestOutcomeOf(t *testing.T) {
	cases := map[string]struct {
		header string
		status int
		want   store.Outcome
	}{
		"created header":   {header: "created", status: 201, want: store.Created},
		"unchanged header": {header: "unchanged", status: 200, want: store.Unchanged},
		"updated header":   {header: "updated", status: 200, want: store.Updated},
		"no header, 201":   {status: 201, want: store.Created},
		"no header, 200":   {status: 200, want: store.Updated},
		"bad header, 201":  {header: "made", status: 201, want: store.Created},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			h := http.Header{}
			if tc.header != "" {
				h.Set(headerOutcome, tc.header)
			}
			if got := outcomeOf(h, tc.status); got != tc.want {
				t.Errorf("outcomeOf = %s, want %s", got, tc.want)
			}
		})
	}
}
