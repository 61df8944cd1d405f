// Package httpapi serves the Studio user store over HTTP: the JSON API
// under /api/v1, the invitation link pages under /invite/, the OpenAPI document at
// /openapi.yaml, and the open operational endpoints /healthz, /readyz and /metrics.
//
// Handlers are thin: decode and validate the request, call store.Service, encode the
// answer. Errors are application/problem+json with the store's stable code. The
// OpenAPI document embedded here is the contract; the tests validate every request and
// response they make against it, and check that every route of the server is in the
// document and the other way round.
//
// Logs and metrics name routes by their pattern ("GET /invite/{token}"), never by the
// raw path or query, so invitation tokens, user keys and email filters stay out of
// them.
package httpapi
