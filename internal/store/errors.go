package store

import (
	"errors"
	"fmt"
	"net/http"
)

// Code is a stable, machine-readable error code, sent as the "code" member of an
// application/problem+json answer.
type Code string

const (
	CodeNotFound         Code = "not-found"
	CodeInvalid          Code = "invalid"
	CodeUnknownReference Code = "unknown-reference"
	CodeEmailInUse       Code = "email-in-use"
	CodeManagedByOther   Code = "managed-by-other"
	CodeHasDependents    Code = "has-dependents"
	CodeUserRemoved      Code = "user-removed"
	CodeInvitationGone   Code = "invitation-gone"
	CodeUnauthorized     Code = "unauthorized"
	CodeForbidden        Code = "forbidden"
	CodeUnavailable      Code = "unavailable"
	CodeInternal         Code = "internal"
)

// HTTPStatus is the status code the API answers with for c.
func (c Code) HTTPStatus() int {
	switch c {
	case CodeNotFound:
		return http.StatusNotFound
	case CodeInvalid, CodeUnknownReference:
		return http.StatusUnprocessableEntity
	case CodeEmailInUse, CodeManagedByOther, CodeHasDependents, CodeUserRemoved:
		return http.StatusConflict
	case CodeInvitationGone:
		return http.StatusGone
	case CodeUnauthorized:
		return http.StatusUnauthorized
	case CodeForbidden:
		return http.StatusForbidden
	case CodeUnavailable:
		return http.StatusServiceUnavailable
	default:
		return http.StatusInternalServerError
	}
}

// Transient reports whether an error with this code may go away by itself, so the
// request is worth retrying unchanged.
func (c Code) Transient() bool { return c == CodeUnavailable || c == CodeInternal }

// Error is the store's typed error.
type Error struct {
	Code Code
	// Field names the offending request field (JSON path, e.g. "grants[1].roles[0]")
	// for CodeInvalid and CodeUnknownReference.
	Field string
	// Message is for people; it never contains secrets.
	Message string
	// Err is the underlying cause, if any (not sent over the wire).
	Err error
}

func (e *Error) Error() string {
	msg := e.Message
	if e.Field != "" {
		msg = e.Field + ": " + msg
	}
	return string(e.Code) + ": " + msg
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error with a formatted message.
func Errorf(code Code, field, format string, args ...any) *Error {
	return &Error{Code: code, Field: field, Message: fmt.Sprintf(format, args...)}
}

// Unavailable wraps a cause (network, database down) as a transient error.
func Unavailable(err error) *Error {
	return &Error{Code: CodeUnavailable, Message: "store unavailable", Err: err}
}

// CodeOf returns the Code of err, CodeInternal for an error that is not an *Error
// and "" for nil.
func CodeOf(err error) Code {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return CodeInternal
}

// IsCode reports whether err is an *Error with code c.
func IsCode(err error, c Code) bool {
	var e *Error
	return errors.As(err, &e) && e.Code == c
}

// IsNotFound reports whether err says the record does not exist.
func IsNotFound(err error) bool { return IsCode(err, CodeNotFound) }

// IsTransient reports whether retrying the same request later may succeed: the store
// was unreachable, overloaded or failed internally. Everything else is terminal until
// the request changes.
func IsTransient(err error) bool { return err != nil && CodeOf(err).Transient() }
