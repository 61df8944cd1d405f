package httpapi

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"

	"github.com/studio-operator/studio-operator/internal/store"
)

// Wire-only problem codes: failures of the HTTP exchange itself that the store never
// reports. All other codes are store.Code values.
const (
	// CodeTooLarge: the request body exceeds the limit (413).
	CodeTooLarge store.Code = "too-large"
	// CodeMethodNotAllowed: the path exists but not with this method (405).
	CodeMethodNotAllowed store.Code = "method-not-allowed"
	// CodeUnsupportedMediaType: the request body is not application/json (415).
	CodeUnsupportedMediaType store.Code = "unsupported-media-type"
)

// problemTypeBase prefixes the code to form the problem "type" URI (RFC 9457).
const problemTypeBase = "https://studio-operator.io/problems/"

const contentTypeProblem = "application/problem+json"

// Details the server writes itself (the store's own messages are passed through).
const (
	detailInternal         = "internal error; the request may be retried"
	detailNotFound         = "no such resource"
	detailMethodNotAllowed = "method not allowed on this resource"
	detailTooLarge         = "request body too large"
	detailTokenRequired    = "a bearer token is required"
	detailTokenInvalid     = "the bearer token is not valid"
	detailReadOnly         = "this token may only read"
	detailNotReady         = "the database does not answer"
)

// titles are the short, fixed summaries of each code.
var titles = map[store.Code]string{
	store.CodeNotFound:         "Not found",
	store.CodeInvalid:          "Invalid request",
	store.CodeUnknownReference: "Unknown reference",
	store.CodeEmailInUse:       "Email in use",
	store.CodeManagedByOther:   "Managed by another manager",
	store.CodeHasDependents:    "Has dependents",
	store.CodeUserRemoved:      "User removed",
	store.CodeInvitationGone:   "Invitation gone",
	store.CodeUnauthorized:     "Unauthorized",
	store.CodeForbidden:        "Forbidden",
	store.CodeUnavailable:      "Unavailable",
	store.CodeInternal:         "Internal error",
	CodeTooLarge:               "Request too large",
	CodeMethodNotAllowed:       "Method not allowed",
	CodeUnsupportedMediaType:   "Unsupported media type",
}

// Problem is the application/problem+json body of every error answer.
type Problem struct {
	Type   string     `json:"type"`
	Title  string     `json:"title"`
	Status int        `json:"status"`
	Detail string     `json:"detail"`
	Code   store.Code `json:"code"`
	Field  string     `json:"field,omitempty"`
}

// statusOf is the HTTP status of a problem code, including the wire-only ones.
func statusOf(c store.Code) int {
	switch c {
	case CodeTooLarge:
		return http.StatusRequestEntityTooLarge
	case CodeMethodNotAllowed:
		return http.StatusMethodNotAllowed
	case CodeUnsupportedMediaType:
		return http.StatusUnsupportedMediaType
	default:
		return c.HTTPStatus()
	}
}

// problemFor turns any error into the problem to send. Errors that are not
// *store.Error, and internal ones, are reported without their message: it may name
// database internals.
func problemFor(err error) Problem {
	var se *store.Error
	if !errors.As(err, &se) || se.Code == store.CodeInternal || se.Code == "" {
		return newProblem(store.CodeInternal, "", detailInternal)
	}
	detail := se.Message
	if se.Code == store.CodeUnavailable && detail == "" {
		detail = "store unavailable"
	}
	return newProblem(se.Code, se.Field, detail)
}

func newProblem(code store.Code, field, detail string) Problem {
	title, ok := titles[code]
	if !ok {
		title = string(code)
	}
	return Problem{
		Type:   problemTypeBase + string(code),
		Title:  title,
		Status: statusOf(code),
		Detail: detail,
		Code:   code,
		Field:  field,
	}
}

// writeProblem sends p. It never fails loudly: the client may be gone.
func writeProblem(w http.ResponseWriter, p Problem) {
	h := w.Header()
	h.Set("Content-Type", contentTypeProblem)
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(p.Status)
	_ = json.NewEncoder(w).Encode(p)
}

// writeError sends err as a problem and logs server-side failures (the cause, not the
// request, so no key or secret lands in the log).
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	p := problemFor(err)
	if p.Status >= http.StatusInternalServerError {
		s.logFailure(r, err)
	}
	writeProblem(w, p)
}

// logFailure logs a server-side failure by route pattern and cause.
func (s *Server) logFailure(r *http.Request, err error) {
	s.log.LogAttrs(r.Context(), slog.LevelError, "request failed",
		slog.String("route", r.Pattern), slog.String("code", string(store.CodeOf(err))), slog.Any("error", err))
}
