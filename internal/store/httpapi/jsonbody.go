package httpapi

import (
	"bytes"
	"encoding"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"reflect"
	"strconv"
	"strings"

	"github.com/studio-operator/studio-operator/internal/store"
)

// Request bodies are JSON objects, checked before they are decoded: encoding/json
// takes null for an empty object, lets the last of two equal keys win, and names only
// the last key of an unknown field. The check walks the body's tokens along the Go
// type it is decoded into, and names every problem by its full path, such as
// grants[1].scope.agency.

const (
	msgNotObject     = "must be a JSON object"
	msgDuplicateKey  = "appears more than once"
	msgMediaType     = `must be application/json (charset utf-8 if one is given)`
	headerMediaType  = "Content-Type"
	mediaTypeJSON    = "application/json"
	charsetParameter = "charset"
)

var (
	jsonUnmarshaler = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// checkMediaType accepts application/json, with no parameter but charset=utf-8.
func checkMediaType(contentType string) error {
	mt, params, err := mime.ParseMediaType(contentType)
	if err == nil && mt == mediaTypeJSON {
		cs, hasCharset := params[charsetParameter]
		if len(params) == 0 || (len(params) == 1 && hasCharset && strings.EqualFold(cs, "utf-8")) {
			return nil
		}
	}
	return &store.Error{Code: CodeUnsupportedMediaType, Field: headerMediaType, Message: msgMediaType}
}

// checkBody checks that body is one JSON object that fits t: no duplicate keys, no
// unknown fields, every value of the kind its field needs. Syntax errors are left to
// the decoder, which reports their offset.
func checkBody(body []byte, t reflect.Type) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return nil
	}
	if tok != json.Delim('{') {
		return store.Errorf(store.CodeInvalid, fieldBody, msgNotObject)
	}
	if err := (bodyWalker{dec: dec}).object(t, ""); !errors.Is(err, errSyntax) {
		return err
	}
	return nil
}

type bodyWalker struct{ dec *json.Decoder }

// errSyntax stops the walk at a syntax error, which the decoder then reports.
var errSyntax = errors.New("syntax")

func (w bodyWalker) token() (json.Token, error) {
	tok, err := w.dec.Token()
	if err != nil {
		return nil, errSyntax
	}
	return tok, nil
}

// value checks the next value against t, at path.
func (w bodyWalker) value(t reflect.Type, path string) error {
	tok, err := w.token()
	if err != nil {
		return err
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if tok == nil { // null leaves the field as it is
		return nil
	}
	if reflect.PointerTo(t).Implements(jsonUnmarshaler) || reflect.PointerTo(t).Implements(textUnmarshaler) {
		t = reflect.TypeFor[any]() // its own decoding decides; still no duplicate keys
	}
	got := tokenKind(tok)
	switch t.Kind() {
	case reflect.Interface:
		switch tok {
		case json.Delim('{'):
			return w.object(t, path)
		case json.Delim('['):
			return w.array(t, path)
		}
		return nil
	case reflect.Struct, reflect.Map:
		if tok == json.Delim('{') {
			return w.object(t, path)
		}
	case reflect.Slice, reflect.Array:
		if tok == json.Delim('[') {
			return w.array(t.Elem(), path)
		}
	case reflect.String:
		if got == "string" {
			return nil
		}
	case reflect.Bool:
		if got == "boolean" {
			return nil
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64, reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Float32, reflect.Float64:
		if got == "number" {
			return nil
		}
	}
	return store.Errorf(store.CodeInvalid, orBody(path), msgWrongType, jsonKind(t.Kind().String()), got)
}

// object checks the members of an object whose '{' was read, up to its '}'.
func (w bodyWalker) object(t reflect.Type, path string) error {
	var fields map[string]reflect.Type
	if t.Kind() == reflect.Struct {
		fields = jsonFields(t)
	}
	seen := map[string]bool{}
	for w.dec.More() {
		tok, err := w.token()
		if err != nil {
			return err
		}
		key, _ := tok.(string)
		member := joinField(path, key)
		if seen[key] {
			return store.Errorf(store.CodeInvalid, member, msgDuplicateKey)
		}
		seen[key] = true
		var mt reflect.Type
		switch t.Kind() {
		case reflect.Struct:
			if mt = fields[key]; mt == nil {
				return store.Errorf(store.CodeInvalid, member, msgUnknownField)
			}
		case reflect.Map:
			mt = t.Elem()
		default:
			mt = t
		}
		if err := w.value(mt, member); err != nil {
			return err
		}
	}
	_, err := w.token()
	return err
}

// array checks the elements of an array whose '[' was read, up to its ']'.
func (w bodyWalker) array(elem reflect.Type, path string) error {
	for i := 0; w.dec.More(); i++ {
		if err := w.value(elem, path+"["+strconv.Itoa(i)+"]"); err != nil {
			return err
		}
	}
	_, err := w.token()
	return err
}

// jsonFields maps the JSON member names of struct t to their types, as their tags
// name them (the bodies' types embed no structs).
func jsonFields(t reflect.Type) map[string]reflect.Type {
	out := make(map[string]reflect.Type, t.NumField())
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		switch name {
		case "-":
			continue
		case "":
			name = f.Name
		}
		out[name] = f.Type
	}
	return out
}

func tokenKind(tok json.Token) string {
	switch tok.(type) {
	case json.Delim:
		if tok == json.Delim('[') {
			return "array"
		}
		return "object"
	case string:
		return "string"
	case json.Number, float64:
		return "number"
	case bool:
		return "boolean"
	}
	return "null"
}

func joinField(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func orBody(path string) string {
	if path == "" {
		return fieldBody
	}
	return path
}

// readBody reads the whole request body (bounded by the server's MaxBytesReader).
func readBody(r *http.Request) ([]byte, error) {
	b, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, decodeError(err)
	}
	return b, nil
}
