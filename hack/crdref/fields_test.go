package main

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"sigs.k8s.io/yaml"
)

// schema parses a YAML openAPIV3Schema so the cases read like the CRDs they stand for.
func schema(t *testing.T, src string) *apiextensionsv1.JSONSchemaProps {
	t.Helper()
	var s apiextensionsv1.JSONSchemaProps
	if err := yaml.UnmarshalStrict([]byte(src), &s); err != nil {
		t.Fatalf("bad test schema: %v", err)
	}
	return &s
}

func TestTypeOf(t *testing.T) {
	cases := map[string]struct {
		schema string
		want   string
	}{
		"string":             {schema: "type: string", want: "string"},
		"format":             {schema: "{type: integer, format: int32}", want: "integer (int32)"},
		"array of strings":   {schema: "{type: array, items: {type: string}}", want: "[]string"},
		"array of objects":   {schema: "{type: array, items: {type: object, properties: {a: {type: string}}}}", want: "[]object"},
		"array of arrays":    {schema: "{type: array, items: {type: array, items: {type: string, format: email}}}", want: "[][]string (email)"},
		"map of strings":     {schema: "{type: object, additionalProperties: {type: string}}", want: "map[string]string"},
		"object":             {schema: "{type: object, properties: {a: {type: string}}}", want: "object"},
		"int-or-string":      {schema: "{x-kubernetes-int-or-string: true}", want: "int-or-string"},
		"untyped":            {schema: "{x-kubernetes-preserve-unknown-fields: true}", want: "any"},
		"array without item": {schema: "{type: array}", want: "[]any"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if got := typeOf(schema(t, tc.schema)); got != tc.want {
				t.Errorf("typeOf = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestRulesOf(t *testing.T) {
	cases := map[string]struct {
		schema string
		want   []rule
	}{
		"no validation": {schema: "type: string"},
		"enum and default": {
			schema: "{type: string, enum: [Orphan, Delete], default: Orphan}",
			want:   []rule{{Label: "enum", Literals: []string{"Orphan", "Delete"}}, {Label: "default", Literals: []string{"Orphan"}}},
		},
		"non-string default is JSON": {
			schema: "{type: object, default: {}}",
			want:   []rule{{Label: "default", Literals: []string{"{}"}}},
		},
		"pattern and length": {
			schema: "{type: string, pattern: '^[a-z]+$', minLength: 1, maxLength: 63}",
			want:   []rule{{Label: "pattern", Literals: []string{"^[a-z]+$"}}, {Label: "length", Text: "1..63"}},
		},
		"one-sided bounds": {
			schema: "{type: integer, minimum: 0, maxLength: 5}",
			want:   []rule{{Label: "length", Text: "max 5"}, {Label: "value", Text: "min 0"}},
		},
		"exclusive bounds": {
			schema: "{type: number, minimum: 0, exclusiveMinimum: true, maximum: 1.5, exclusiveMaximum: true}",
			want:   []rule{{Label: "value", Text: "greater than 0, less than 1.5"}},
		},
		"list semantics": {
			schema: "{type: array, items: {type: object, properties: {name: {type: string}}}, minItems: 1, x-kubernetes-list-type: map, x-kubernetes-list-map-keys: [name]}",
			want:   []rule{{Label: "list size", Text: "min 1"}, {Label: "list type", Text: "map (keys: name)"}},
		},
		"scalar items are described on the list": {
			schema: "{type: array, maxItems: 3, items: {type: string, enum: [Agent, Operator]}}",
			want:   []rule{{Label: "list size", Text: "max 3"}, {Label: "item enum", Literals: []string{"Agent", "Operator"}}},
		},
		"CEL with message and field path": {
			schema: "{type: object, x-kubernetes-validations: [{rule: 'self.a != 1', message: a must not be 1, fieldPath: .a}]}",
			want:   []rule{{Label: "CEL", Literals: []string{"self.a != 1"}, Text: "a must not be 1 (reported on .a)"}},
		},
		"CEL without message": {
			schema: "{type: string, x-kubernetes-validations: [{rule: self == oldSelf}]}",
			want:   []rule{{Label: "CEL", Literals: []string{"self == oldSelf"}, Text: "failed rule: self == oldSelf"}},
		},
		"CEL with message expression and reason": {
			schema: "{type: string, x-kubernetes-validations: [{rule: self != '', messageExpression: \"'empty'\", reason: FieldValueForbidden}]}",
			want:   []rule{{Label: "CEL", Literals: []string{"self != ''"}, Text: "message from 'empty' (reason FieldValueForbidden)"}},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, rulesOf(schema(t, tc.schema))); diff != "" {
				t.Errorf("rulesOf mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestFieldsOfWalksEveryLevelInOrder(t *testing.T) {
	root := schema(t, `
type: object
required: [spec]
properties:
  apiVersion: {type: string}
  kind: {type: string}
  metadata: {type: object}
  status:
    type: object
    properties:
      labels: {type: object, additionalProperties: {type: object, required: [v], properties: {v: {type: string}}}}
  spec:
    type: object
    required: [subjects]
    properties:
      subjects:
        type: array
        items: {type: object, required: [name], properties: {name: {type: string}, kind: {type: string}}}
      b: {type: string}
`)
	type row struct {
		Path     string
		Type     string
		Required bool
	}
	var got []row
	for _, f := range fieldsOf(root) {
		got = append(got, row{f.Path, f.Type, f.Required})
	}
	want := []row{
		{"spec", "object", true},
		{"spec.b", "string", false},
		{"spec.subjects", "[]object", true},
		{"spec.subjects[].kind", "string", false},
		{"spec.subjects[].name", "string", true},
		{"status", "object", false},
		{"status.labels", "map[string]object", false},
		{"status.labels.<key>.v", "string", true},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("fieldsOf mismatch (-want +got):\n%s", diff)
	}
}
