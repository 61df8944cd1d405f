package httpapi

import (
	"context"
	"net/http"
	"strings"

	"github.com/studio-operator/studio-operator/internal/store"
	"github.com/studio-operator/studio-operator/internal/store/auth"
)

// Challenges sent with 401 answers (RFC 6750).
const (
	challengeMissing = `Bearer realm="studio-store"`
	challengeInvalid = `Bearer realm="studio-store", error="invalid_token"`
)

type principalKey struct{}

func withPrincipal(ctx context.Context, p auth.Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// principalOf returns the authenticated principal of the request (zero for open
// routes).
func principalOf(ctx context.Context) auth.Principal {
	p, _ := ctx.Value(principalKey{}).(auth.Principal)
	return p
}

// authorize checks the bearer token against the route's access level; on failure it
// has already answered 401 or 403.
func (s *Server) authorize(w http.ResponseWriter, r *http.Request, access Access) (auth.Principal, bool) {
	token, ok := bearerToken(r)
	if !ok {
		w.Header().Set("WWW-Authenticate", challengeMissing)
		writeProblem(w, newProblem(store.CodeUnauthorized, "", detailTokenRequired))
		return auth.Principal{}, false
	}
	var p auth.Principal
	if s.auth != nil {
		p, ok = s.auth.Authenticate(token)
	} else {
		ok = false
	}
	if !ok {
		w.Header().Set("WWW-Authenticate", challengeInvalid)
		writeProblem(w, newProblem(store.CodeUnauthorized, "", detailTokenInvalid))
		return auth.Principal{}, false
	}
	if access == AccessWrite && !p.CanWrite() {
		writeProblem(w, newProblem(store.CodeForbidden, "", detailReadOnly))
		return auth.Principal{}, false
	}
	return p, true
}

// bearerToken extracts the token of an "Authorization: Bearer <token>" header; the
// scheme is case-insensitive (RFC 7235).
func bearerToken(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	scheme, token, found := strings.Cut(h, " ")
	if !found || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}
