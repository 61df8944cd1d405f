package client

import (
	"encoding/json"
	"fmt"
	"mime"
	"net/http"

	"github.com/studio-operator/studio-operator/internal/store"
)

// problem is the application/problem+json body of an error answer.
type problem struct {
	Title  string     `json:"title"`
	Status int        `json:"status"`
	Detail string     `json:"detail"`
	Code   store.Code `json:"code"`
	Field  string     `json:"field"`
}

// errorFromResponse turns an error answer into a *store.Error. Answers that may go
// away by themselves (5xx, 429) are store.Unavailable, whatever their body says, so
// callers retry them; the decoded problem is kept as the cause.
func errorFromResponse(status int, h http.Header, body []byte) error {
	e := decodeProblem(status, h, body)
	if status >= 500 || status == http.StatusTooManyRequests {
		if e.Code == store.CodeUnavailable {
			return e
		}
		return &store.Error{Code: store.CodeUnavailable, Message: e.Message, Err: e}
	}
	return e
}

// decodeProblem reads a problem body; without one (a proxy's HTML page, say) the code
// is derived from the status.
func decodeProblem(status int, h http.Header, body []byte) *store.Error {
	if mt, _, err := mime.ParseMediaType(h.Get("Content-Type")); err == nil && (mt == "application/problem+json" || mt == "application/json") {
		var p problem
		if json.Unmarshal(body, &p) == nil && p.Code != "" {
			msg := p.Detail
			if msg == "" {
				msg = p.Title
			}
			return &store.Error{Code: p.Code, Field: p.Field, Message: msg}
		}
	}
	return &store.Error{Code: codeForStatus(status), Message: fmt.Sprintf(errStatusFormat, status)}
}

func codeForStatus(status int) store.Code {
	switch status {
	case http.StatusUnauthorized:
		return store.CodeUnauthorized
	case http.StatusForbidden:
		return store.CodeForbidden
	case http.StatusNotFound:
		return store.CodeNotFound
	case http.StatusGone:
		return store.CodeInvitationGone
	case http.StatusTooManyRequests, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return store.CodeUnavailable
	}
	if status >= 500 {
		return store.CodeInternal
	}
	return store.CodeInvalid
}
