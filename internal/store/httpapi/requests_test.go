package httpapi_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/studio-operator/studio-operator/internal/store"
	"github.com/studio-operator/studio-operator/internal/store/httpapi"
)

func TestBadRequestsNameTheField(t *testing.T) {
	e := newEnv(t)
	seed(t, e)
	invalid := map[string]string{headerInvalid: "1"}
	withContentType := func(ct string) map[string]string { return map[string]string{headerInvalid: "1", "Content-Type": ct} }
	cases := map[string]struct {
		req        request
		wantStatus int
		wantCode   store.Code
		wantField  string
	}{
		"unknown field": {
			req:        request{method: http.MethodPut, path: "/api/v1/users/bob", header: invalid, body: `{"email":"bob@example.com","nickname":"b"}`},
			wantStatus: http.StatusUnprocessableEntity, wantCode: store.CodeInvalid, wantField: "nickname",
		},
		"wrong type": {
			req:        request{method: http.MethodPut, path: "/api/v1/users/bob", header: invalid, body: `{"email":"bob@example.com","suspended":"yes"}`},
			wantStatus: http.StatusUnprocessableEntity, wantCode: store.CodeInvalid, wantField: "suspended",
		},
		"malformed JSON": {
			req:        request{method: http.MethodPut, path: "/api/v1/agencies/acme", header: invalid, body: `{"displayName":`},
			wantStatus: http.StatusUnprocessableEntity, wantCode: store.CodeInvalid, wantField: "body",
		},
		"not JSON": {
			req:        request{method: http.MethodPut, path: "/api/v1/agencies/acme", header: invalid, body: `displayName=Acme`},
			wantStatus: http.StatusUnprocessableEntity, wantCode: store.CodeInvalid, wantField: "body",
		},
		"empty body": {
			req:        request{method: http.MethodPut, path: "/api/v1/agencies/acme", header: invalid},
			wantStatus: http.StatusUnprocessableEntity, wantCode: store.CodeInvalid, wantField: "body",
		},
		"two JSON values": {
			req:        request{method: http.MethodPut, path: "/api/v1/agencies/acme", header: invalid, body: `{"displayName":"A"} {}`},
			wantStatus: http.StatusUnprocessableEntity, wantCode: store.CodeInvalid, wantField: "body",
		},
		"array instead of object": {
			req:        request{method: http.MethodPut, path: "/api/v1/agencies/acme", header: invalid, body: `[]`},
			wantStatus: http.StatusUnprocessableEntity, wantCode: store.CodeInvalid, wantField: "body",
		},
		"nested unknown field": {
			req:        request{method: http.MethodPut, path: "/api/v1/users/alice/grants", header: invalid, body: `{"grants":[{"scope":{"agency":"acme","org":"x"},"roles":[]}]}`},
			wantStatus: http.StatusUnprocessableEntity, wantCode: store.CodeInvalid, wantField: "grants[0].scope.org",
		},
		"null body": {
			req:        request{method: http.MethodPut, path: "/api/v1/agencies/acme", header: invalid, body: `null`},
			wantStatus: http.StatusUnprocessableEntity, wantCode: store.CodeInvalid, wantField: "body",
		},
		"null body with spaces": {
			req:        request{method: http.MethodPut, path: "/api/v1/users/bob", header: invalid, body: " null \n"},
			wantStatus: http.StatusUnprocessableEntity, wantCode: store.CodeInvalid, wantField: "body",
		},
		"string instead of object": {
			req:        request{method: http.MethodPut, path: "/api/v1/agencies/acme", header: invalid, body: `"Acme"`},
			wantStatus: http.StatusUnprocessableEntity, wantCode: store.CodeInvalid, wantField: "body",
		},
		"duplicate key": {
			req:        request{method: http.MethodPut, path: "/api/v1/agencies/acme", header: invalid, body: `{"displayName":"A","displayName":"B"}`},
			wantStatus: http.StatusUnprocessableEntity, wantCode: store.CodeInvalid, wantField: "displayName",
		},
		"nested duplicate key": {
			req:        request{method: http.MethodPut, path: "/api/v1/users/alice/grants", header: invalid, body: `{"grants":[{"roles":[]},{"scope":{"agency":"acme","agency":"zeta"},"roles":[]}]}`},
			wantStatus: http.StatusUnprocessableEntity, wantCode: store.CodeInvalid, wantField: "grants[1].scope.agency",
		},
		"duplicate key in an unknown object": {
			req:        request{method: http.MethodPut, path: "/api/v1/environments/team-a.prod", header: invalid, body: `{"agency":"acme","agency":"acme"}`},
			wantStatus: http.StatusUnprocessableEntity, wantCode: store.CodeInvalid, wantField: "agency",
		},
		"nested wrong type": {
			req:        request{method: http.MethodPut, path: "/api/v1/users/alice/grants", header: invalid, body: `{"grants":[{"scope":{"agency":"acme"},"roles":["Agent",7]}]}`},
			wantStatus: http.StatusUnprocessableEntity, wantCode: store.CodeInvalid, wantField: "grants[0].roles[1]",
		},
		"wrong content type": {
			req:        request{method: http.MethodPut, path: "/api/v1/agencies/acme", header: withContentType("text/plain"), body: `{"displayName":"Acme"}`},
			wantStatus: http.StatusUnsupportedMediaType, wantCode: codeUnsupportedMediaType, wantField: "Content-Type",
		},
		"form content type": {
			req:        request{method: http.MethodPut, path: "/api/v1/users/bob", header: withContentType("application/x-www-form-urlencoded"), body: `{"email":"bob@example.com"}`},
			wantStatus: http.StatusUnsupportedMediaType, wantCode: codeUnsupportedMediaType, wantField: "Content-Type",
		},
		"no content type": {
			req:        request{method: http.MethodPut, path: "/api/v1/agencies/acme", header: withContentType(""), body: `{"displayName":"Acme"}`},
			wantStatus: http.StatusUnsupportedMediaType, wantCode: codeUnsupportedMediaType, wantField: "Content-Type",
		},
		"json in another charset": {
			req:        request{method: http.MethodPut, path: "/api/v1/agencies/acme", header: withContentType("application/json; charset=latin1"), body: `{"displayName":"Acme"}`},
			wantStatus: http.StatusUnsupportedMediaType, wantCode: codeUnsupportedMediaType, wantField: "Content-Type",
		},
		"grants missing": {
			req:        request{method: http.MethodPut, path: "/api/v1/users/alice/grants", header: invalid, body: `{}`},
			wantStatus: http.StatusUnprocessableEntity, wantCode: store.CodeInvalid, wantField: "grants",
		},
		"roles missing": {
			req:        request{method: http.MethodPut, path: "/api/v1/users/alice/grants", header: invalid, body: `{"grants":[{"scope":{"agency":"acme"},"roles":["Agent"]},{"scope":{"agency":"acme"}}]}`},
			wantStatus: http.StatusUnprocessableEntity, wantCode: store.CodeInvalid, wantField: "grants[1].roles",
		},
		"roles of the wrong type": {
			req:        request{method: http.MethodPut, path: "/api/v1/users/alice/grants", header: invalid, body: `{"grants":[{"scope":{"agency":"acme"},"roles":"Agent"}]}`},
			wantStatus: http.StatusUnprocessableEntity, wantCode: store.CodeInvalid, wantField: "grants[0].roles",
		},
		"body over 1 MiB": {
			req: request{method: http.MethodPut, path: "/api/v1/agencies/acme", header: invalid,
				body: `{"displayName":"` + strings.Repeat("a", httpapi.DefaultMaxBodyBytes) + `"}`},
			wantStatus: http.StatusRequestEntityTooLarge, wantCode: httpapi.CodeTooLarge, wantField: "body",
		},
		"control character in a header": {
			req:        request{method: http.MethodPut, path: "/api/v1/agencies/acme", json: store.AgencySpec{}, header: map[string]string{httpapi.HeaderSource: "Agency//acme@1\tx", headerInvalid: "1"}},
			wantStatus: http.StatusUnprocessableEntity, wantCode: store.CodeInvalid, wantField: httpapi.HeaderSource,
		},
		"manager header too long": {
			req:        request{method: http.MethodPut, path: "/api/v1/agencies/acme", json: store.AgencySpec{}, header: map[string]string{httpapi.HeaderManager: strings.Repeat("m", 254), headerInvalid: "1"}},
			wantStatus: http.StatusUnprocessableEntity, wantCode: store.CodeInvalid, wantField: httpapi.HeaderManager,
		},
		"idempotency key too long": {
			req:        request{method: http.MethodPost, path: "/api/v1/users/alice/invitations", header: map[string]string{httpapi.HeaderIdempotencyKey: strings.Repeat("k", 256), headerInvalid: "1"}},
			wantStatus: http.StatusUnprocessableEntity, wantCode: store.CodeInvalid, wantField: httpapi.HeaderIdempotencyKey,
		},
		"limit not a number": {
			req:        request{method: http.MethodGet, path: "/api/v1/users?limit=ten", header: invalid},
			wantStatus: http.StatusUnprocessableEntity, wantCode: store.CodeInvalid, wantField: "limit",
		},
		"limit too large": {
			req:        request{method: http.MethodGet, path: "/api/v1/audit?limit=1001", header: invalid},
			wantStatus: http.StatusUnprocessableEntity, wantCode: store.CodeInvalid, wantField: "limit",
		},
		"grants limit zero": {
			req:        request{method: http.MethodGet, path: "/api/v1/grants?limit=0", header: invalid},
			wantStatus: http.StatusUnprocessableEntity, wantCode: store.CodeInvalid, wantField: "limit",
		},
		"environments limit too large": {
			req:        request{method: http.MethodGet, path: "/api/v1/environments?limit=1001", header: invalid},
			wantStatus: http.StatusUnprocessableEntity, wantCode: store.CodeInvalid, wantField: "limit",
		},
		"grants cursor too long": {
			req:        request{method: http.MethodGet, path: "/api/v1/grants?cursor=" + strings.Repeat("c", 513), header: invalid},
			wantStatus: http.StatusUnprocessableEntity, wantCode: store.CodeInvalid, wantField: "cursor",
		},
		"negative after": {
			req:        request{method: http.MethodGet, path: "/api/v1/audit?after=-1", header: invalid},
			wantStatus: http.StatusUnprocessableEntity, wantCode: store.CodeInvalid, wantField: "after",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			r := e.do(t, tc.req)
			p := r.problem(t)
			if r.status != tc.wantStatus || p.Code != tc.wantCode || p.Field != tc.wantField {
				t.Fatalf("= %d %+v, want %d %s field %q", r.status, p, tc.wantStatus, tc.wantCode, tc.wantField)
			}
		})
	}
	// None of the refused writes changed anything.
	var page store.AuditPage
	e.do(t, request{method: http.MethodGet, path: "/api/v1/audit"}).decode(t, &page)
	if len(page.Entries) != 3 {
		t.Errorf("audit has %d entries, want the 3 of the seed", len(page.Entries))
	}
}

func TestAuthentication(t *testing.T) {
	e := newEnv(t)
	seed(t, e)
	cases := map[string]struct {
		req           request
		wantStatus    int
		wantCode      store.Code
		wantChallenge string
	}{
		"no token": {
			req:        request{method: http.MethodGet, path: "/api/v1/users/alice", token: noToken},
			wantStatus: http.StatusUnauthorized, wantCode: store.CodeUnauthorized, wantChallenge: `Bearer realm="studio-store"`,
		},
		"unknown token": {
			req:        request{method: http.MethodGet, path: "/api/v1/users/alice", token: "guess"},
			wantStatus: http.StatusUnauthorized, wantCode: store.CodeUnauthorized, wantChallenge: `Bearer realm="studio-store", error="invalid_token"`,
		},
		"basic auth is not a bearer token": {
			req:        request{method: http.MethodGet, path: "/api/v1/users/alice", token: noToken, header: map[string]string{"Authorization": "Basic b3BzOnB3"}},
			wantStatus: http.StatusUnauthorized, wantCode: store.CodeUnauthorized, wantChallenge: `Bearer realm="studio-store"`,
		},
		"reader writes": {
			req:        request{method: http.MethodPut, path: "/api/v1/agencies/acme", token: readerToken, json: store.AgencySpec{DisplayName: "X"}},
			wantStatus: http.StatusForbidden, wantCode: store.CodeForbidden,
		},
		"reader deletes": {
			req:        request{method: http.MethodDelete, path: "/api/v1/users/alice", token: readerToken},
			wantStatus: http.StatusForbidden, wantCode: store.CodeForbidden,
		},
		"reader sends an invitation": {
			req:        request{method: http.MethodPost, path: "/api/v1/users/alice/invitations", token: readerToken},
			wantStatus: http.StatusForbidden, wantCode: store.CodeForbidden,
		},
		"reader reads": {
			req:        request{method: http.MethodGet, path: "/api/v1/users/alice", token: readerToken},
			wantStatus: http.StatusOK,
		},
		"lower-case scheme": {
			req:        request{method: http.MethodGet, path: "/api/v1/users/alice", token: noToken, header: map[string]string{"Authorization": "bearer " + readerToken}},
			wantStatus: http.StatusOK,
		},
		"health is open":    {req: request{method: http.MethodGet, path: "/healthz", token: noToken}, wantStatus: http.StatusOK},
		"readiness is open": {req: request{method: http.MethodGet, path: "/readyz", token: noToken}, wantStatus: http.StatusOK},
		"metrics are open":  {req: request{method: http.MethodGet, path: "/metrics", token: noToken}, wantStatus: http.StatusOK},
		"document is open":  {req: request{method: http.MethodGet, path: "/openapi.yaml", token: noToken}, wantStatus: http.StatusOK},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			r := e.do(t, tc.req)
			if r.status != tc.wantStatus {
				t.Fatalf("= %d %s, want %d", r.status, r.body, tc.wantStatus)
			}
			if tc.wantCode != "" {
				if p := r.problem(t); p.Code != tc.wantCode {
					t.Errorf("code = %s, want %s", p.Code, tc.wantCode)
				}
			}
			if got := r.header.Get("WWW-Authenticate"); got != tc.wantChallenge {
				t.Errorf("WWW-Authenticate = %q, want %q", got, tc.wantChallenge)
			}
		})
	}
	// The reader's refused write changed nothing.
	var a store.Agency
	e.do(t, request{method: http.MethodGet, path: "/api/v1/agencies/acme"}).decode(t, &a)
	if a.DisplayName != "Acme" {
		t.Errorf("agency changed by a reader: %+v", a)
	}
}

func TestUnknownRoutesAnswerProblems(t *testing.T) {
	e := newEnv(t)
	offSpec := map[string]string{headerOffSpec: "1"}
	r := e.do(t, request{method: http.MethodGet, path: "/api/v1/nothing", header: offSpec})
	if p := r.problem(t); r.status != http.StatusNotFound || p.Code != store.CodeNotFound {
		t.Errorf("unknown path = %d %+v", r.status, p)
	}
	r = e.do(t, request{method: http.MethodPost, path: "/api/v1/agencies/acme", header: offSpec, body: `{}`})
	if p := r.problem(t); r.status != http.StatusMethodNotAllowed || p.Code != httpapi.CodeMethodNotAllowed {
		t.Errorf("wrong method = %d %+v", r.status, p)
	}
	if allow := r.header.Get("Allow"); !strings.Contains(allow, "PUT") || !strings.Contains(allow, "DELETE") {
		t.Errorf("Allow = %q", allow)
	}
}

// codeUnsupportedMediaType is the problem code of a body that is not JSON.
const codeUnsupportedMediaType store.Code = "unsupported-media-type"

func TestJSONBodyMediaTypes(t *testing.T) {
	e := newEnv(t)
	for contentType, accepted := range map[string]bool{
		"application/json":                    true,
		"application/json; charset=utf-8":     true,
		"Application/JSON; charset=\"UTF-8\"": true,
		"application/json-seq":                false,
		"application/problem+json":            false,
	} {
		r := e.do(t, request{method: http.MethodPut, path: "/api/v1/agencies/acme", body: `{"displayName":"Acme"}`,
			header: map[string]string{"Content-Type": contentType, headerInvalid: "1"}})
		if got := r.status < 300; got != accepted || (!accepted && r.status != http.StatusUnsupportedMediaType) {
			t.Errorf("Content-Type %q: %d, want accepted %v (else 415)", contentType, r.status, accepted)
		}
	}
}
