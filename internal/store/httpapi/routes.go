package httpapi

import (
	"net/http"
	"strings"
)

// Access says who may call a route.
type Access int

const (
	// AccessOpen: no token (probes, metrics, the OpenAPI document, invitation links,
	// whose token is in the path).
	AccessOpen Access = iota
	// AccessRead: any valid bearer token.
	AccessRead
	// AccessWrite: an admin bearer token.
	AccessWrite
)

// Route is one method and path pattern the server answers.
type Route struct {
	Method string
	// Path is a net/http pattern path, e.g. "/api/v1/users/{user}"; OpenAPI uses the
	// same template syntax.
	Path   string
	Access Access
}

type route struct {
	Route
	handle handlerFunc
}

// Routes lists every route of the server, in registration order.
func (s *Server) Routes() []Route {
	out := make([]Route, len(s.routes))
	for i, rt := range s.routes {
		out[i] = rt.Route
	}
	return out
}

func (s *Server) routeTable() []route {
	r := func(method, path string, access Access, h handlerFunc) route {
		return route{Route: Route{Method: method, Path: path, Access: access}, handle: h}
	}
	const (
		get, put, post, del = http.MethodGet, http.MethodPut, http.MethodPost, http.MethodDelete
		open, read, write   = AccessOpen, AccessRead, AccessWrite
	)
	return []route{
		r(get, "/healthz", open, s.healthz),
		r(get, "/readyz", open, s.readyz),
		r(get, "/metrics", open, s.serveMetrics),
		r(get, "/openapi.yaml", open, serveOpenAPI),

		r(put, "/api/v1/agencies/{agency}", write, s.putAgency),
		r(get, "/api/v1/agencies/{agency}", read, s.getAgency),
		r(del, "/api/v1/agencies/{agency}", write, s.deleteAgency),

		r(get, "/api/v1/environments", read, s.listEnvironments),
		r(put, "/api/v1/environments/{env}", write, s.putEnvironment),
		r(get, "/api/v1/environments/{env}", read, s.getEnvironment),
		r(del, "/api/v1/environments/{env}", write, s.deleteEnvironment),

		r(get, "/api/v1/users", read, s.listUsers),
		r(put, "/api/v1/users/{user}", write, s.putUser),
		r(get, "/api/v1/users/{user}", read, s.getUser),
		r(del, "/api/v1/users/{user}", write, s.removeUser),
		r(put, "/api/v1/users/{user}/grants", write, s.putGrants),
		r(get, "/api/v1/users/{user}/grants", read, s.getGrants),
		r(get, "/api/v1/users/{user}/access", read, s.getAccess),
		r(post, "/api/v1/users/{user}/invitations", write, s.sendInvitation),
		r(get, "/api/v1/users/{user}/invitation", read, s.getInvitation),
		r(post, "/api/v1/users/{user}/activity", write, s.recordActivity),

		r(get, "/api/v1/grants", read, s.listGrants),

		r(get, "/api/v1/invitations/undeliverable", read, s.listUndeliverable),

		r(get, "/api/v1/audit", read, s.listAudit),
		r(get, "/api/v1/audit/verify", read, s.verifyAudit),

		r(get, "/invite/{token}", open, s.invitePage),
		r(post, "/invite/{token}/accept", open, s.acceptInvitation),
	}
}

// isProbe reports whether pattern is a probe or scrape endpoint, logged at debug
// level because kubelets and Prometheus call them all the time.
func isProbe(pattern string) bool {
	_, path, _ := strings.Cut(pattern, " ")
	switch path {
	case "/healthz", "/readyz", "/metrics":
		return true
	}
	return false
}
