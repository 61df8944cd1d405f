// Package client is the typed Go client of the Studio user store's HTTP API
// (internal/store/httpapi/openapi.yaml). *Client implements store.API, so
// the operator, the tools and the tests use the store the same way in-process and
// over the wire.
//
// Errors are *store.Error values: problem answers keep their code, field and message;
// network failures, timeouts, 5xx and 429 answers become CodeUnavailable, which
// store.IsTransient reports as worth retrying. The bearer token never appears in an
// error.
package client
