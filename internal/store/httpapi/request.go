package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/studio-operator/studio-operator/internal/store"
)

// Request headers.
const (
	HeaderManager        = "X-Studio-Manager"
	HeaderOnBehalfOf     = "X-Studio-On-Behalf-Of"
	HeaderSource         = "X-Studio-Source"
	HeaderIdempotencyKey = "Idempotency-Key"
	// HeaderOutcome answers a PUT: created, updated or unchanged.
	HeaderOutcome = "X-Studio-Outcome"
)

// Header length limits: values end up in every audit entry, so they are bounded.
var headerLimits = map[string]int{
	HeaderManager:        253,
	HeaderOnBehalfOf:     512,
	HeaderSource:         512,
	HeaderIdempotencyKey: 255,
}

// Query parameter bounds.
const (
	maxPageLimit = 1000
	maxQueryLen  = 512
	maxCursorLen = 1024
)

// Validation messages.
const (
	msgBodyEmpty     = "request body is empty"
	msgBodyMalformed = "malformed JSON at byte %d"
	msgBodyTrailing  = "unexpected data after the JSON object"
	msgUnknownField  = "unknown field"
	msgWrongType     = "must be %s, not %s"
	msgFieldRequired = "is required"
	msgHeaderLong    = "must be at most %d bytes"
	msgHeaderChars   = "must be UTF-8 text without control characters"
	msgLimit         = "must be an integer from 1 to %d"
	msgSeq           = "must be a non-negative integer"
	msgQueryLong     = "must be at most %d bytes"
)

// fieldBody names the request body as a whole in errors that have no better field.
const fieldBody = "body"

// decodeJSON reads the request body, exactly one JSON object, into v (a pointer). It
// refuses a body that is not application/json (CodeUnsupportedMediaType, 415), and as
// CodeInvalid naming the field by its full path: an empty or null body, duplicate
// keys, unknown fields, values of the wrong type and trailing data.
func decodeJSON(r *http.Request, v any) error {
	body, err := readBody(r)
	if err != nil {
		return err
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return store.Errorf(store.CodeInvalid, fieldBody, msgBodyEmpty)
	}
	if err := checkMediaType(r.Header.Get(headerMediaType)); err != nil {
		return err
	}
	if err := checkBody(body, reflect.TypeOf(v).Elem()); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return decodeError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return store.Errorf(store.CodeInvalid, fieldBody, msgBodyTrailing)
	}
	return nil
}

func decodeError(err error) error {
	var (
		tooLarge  *http.MaxBytesError
		syntax    *json.SyntaxError
		wrongType *json.UnmarshalTypeError
	)
	switch {
	case errors.As(err, &tooLarge):
		return &store.Error{Code: CodeTooLarge, Field: fieldBody, Message: detailTooLarge}
	case errors.Is(err, io.EOF):
		return store.Errorf(store.CodeInvalid, fieldBody, msgBodyEmpty)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return store.Errorf(store.CodeInvalid, fieldBody, "truncated JSON")
	case errors.As(err, &syntax):
		return store.Errorf(store.CodeInvalid, fieldBody, msgBodyMalformed, syntax.Offset)
	case errors.As(err, &wrongType):
		field := wrongType.Field
		if field == "" {
			field = fieldBody
		}
		return store.Errorf(store.CodeInvalid, field, msgWrongType, jsonKind(wrongType.Type.Kind().String()), wrongType.Value)
	}
	// encoding/json reports unknown fields only as text: `json: unknown field "x"`.
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		if unq, uerr := strconv.Unquote(name); uerr == nil {
			name = unq
		}
		return store.Errorf(store.CodeInvalid, name, msgUnknownField)
	}
	return store.Errorf(store.CodeInvalid, fieldBody, "cannot decode the request body")
}

// jsonKind names a Go kind the way a JSON author thinks of it.
func jsonKind(goKind string) string {
	switch goKind {
	case "string":
		return "a string"
	case "bool":
		return "a boolean"
	case "slice", "array":
		return "an array"
	case "struct", "map":
		return "an object"
	case "int", "int8", "int16", "int32", "int64", "uint", "uint8", "uint16", "uint32", "uint64", "float32", "float64":
		return "a number"
	default:
		return goKind
	}
}

// header returns a validated request header value ("" when absent).
func header(r *http.Request, name string) (string, error) {
	v := r.Header.Get(name)
	if v == "" {
		return "", nil
	}
	if limit := headerLimits[name]; len(v) > limit {
		return "", store.Errorf(store.CodeInvalid, name, msgHeaderLong, limit)
	}
	if !cleanText(v) {
		return "", store.Errorf(store.CodeInvalid, name, msgHeaderChars)
	}
	return v, nil
}

// cleanText reports whether s is valid UTF-8 without control characters.
func cleanText(s string) bool {
	return utf8.ValidString(s) && !strings.ContainsFunc(s, unicode.IsControl)
}

// callerOf builds the store.Caller of a write: the actor is the token's subject, the
// rest comes from the X-Studio-* headers.
func callerOf(r *http.Request) (store.Caller, error) {
	var c store.Caller
	var err error
	if c.Manager, err = header(r, HeaderManager); err != nil {
		return c, err
	}
	if c.OnBehalfOf, err = header(r, HeaderOnBehalfOf); err != nil {
		return c, err
	}
	if c.Source, err = header(r, HeaderSource); err != nil {
		return c, err
	}
	c.Actor = principalOf(r.Context()).Subject
	return c, nil
}

// queryString returns a bounded, clean query parameter.
func queryString(r *http.Request, name string) (string, error) {
	v := r.URL.Query().Get(name)
	limit := maxQueryLen
	if name == "cursor" {
		// An ordered listing's cursor carries the order's value (an email) and the key.
		limit = maxCursorLen
	}
	if len(v) > limit {
		return "", store.Errorf(store.CodeInvalid, name, msgQueryLong, limit)
	}
	if !cleanText(v) {
		return "", store.Errorf(store.CodeInvalid, name, msgHeaderChars)
	}
	return v, nil
}

// queryLimit parses the page size; absent means the store's default (0).
func queryLimit(r *http.Request) (int, error) {
	v := r.URL.Query().Get("limit")
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > maxPageLimit {
		return 0, store.Errorf(store.CodeInvalid, "limit", msgLimit, maxPageLimit)
	}
	return n, nil
}

// queryDesc parses a listing's direction: asc (the default) or desc.
func queryDesc(r *http.Request) (bool, error) {
	switch d, err := queryString(r, "direction"); {
	case err != nil:
		return false, err
	case d == "" || d == "asc":
		return false, nil
	case d == "desc":
		return true, nil
	}
	return false, store.Errorf(store.CodeInvalid, "direction", "must be asc or desc")
}

// querySeq parses an audit bound (after, before): a seq; absent means none (0).
func querySeq(r *http.Request, name string) (int64, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return 0, store.Errorf(store.CodeInvalid, name, msgSeq)
	}
	return n, nil
}

// queryStrings reads several string parameters at once, stopping at the first bad one.
func queryStrings(r *http.Request, names ...string) (map[string]string, error) {
	out := make(map[string]string, len(names))
	for _, n := range names {
		v, err := queryString(r, n)
		if err != nil {
			return nil, err
		}
		out[n] = v
	}
	return out, nil
}

// requireField is the error for a missing required body member.
func requireField(field string) error {
	return store.Errorf(store.CodeInvalid, field, msgFieldRequired)
}
