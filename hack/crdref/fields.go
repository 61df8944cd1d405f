package main

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
)

// field is one row of a kind's field table. Validation holds one plain-text item per rule;
// render turns them into Markdown.
type field struct {
	Path        string
	Type        string
	Required    bool
	Validation  []rule
	Description string
}

// rule is one validation item: a label and, when it has one, a literal value (a pattern, a
// CEL expression, an enum value list) that render puts in code spans.
type rule struct {
	Label    string
	Literals []string
	Text     string
}

// standardRootFields are the fields every object has; the reference leaves them out.
var standardRootFields = map[string]bool{"apiVersion": true, "kind": true, "metadata": true}

// fieldsOf walks an openAPIV3Schema depth first and returns one row per property, in path
// order (properties sorted by name), without the standard apiVersion, kind and metadata.
func fieldsOf(root *apiextensionsv1.JSONSchemaProps) []field {
	if root == nil {
		return nil
	}
	var out []field
	walkProperties(root, "", true, &out)
	return out
}

func walkProperties(s *apiextensionsv1.JSONSchemaProps, prefix string, atRoot bool, out *[]field) {
	required := map[string]bool{}
	for _, r := range s.Required {
		required[r] = true
	}
	for _, name := range sortedKeys(s.Properties) {
		if atRoot && standardRootFields[name] {
			continue
		}
		prop := s.Properties[name]
		walkField(&prop, join(prefix, name), required[name], out)
	}
}

// walkField adds the row for the property at path, then the rows of what it contains:
// properties of an object, of the items of an array ("path[]") and of the values of a map
// ("path.<key>").
func walkField(s *apiextensionsv1.JSONSchemaProps, path string, required bool, out *[]field) {
	*out = append(*out, field{
		Path:        path,
		Type:        typeOf(s),
		Required:    required,
		Validation:  rulesOf(s),
		Description: s.Description,
	})
	switch {
	case len(s.Properties) > 0:
		walkProperties(s, path, false, out)
	case s.Items != nil && s.Items.Schema != nil:
		walkProperties(s.Items.Schema, path+"[]", false, out)
	case s.AdditionalProperties != nil && s.AdditionalProperties.Schema != nil:
		walkProperties(s.AdditionalProperties.Schema, path+".<key>", false, out)
	}
}

// typeOf names a schema's type the way a reader of YAML thinks of it: string, integer
// (int32), []string, map[string]string, object.
func typeOf(s *apiextensionsv1.JSONSchemaProps) string {
	if s == nil {
		return "any"
	}
	switch {
	case s.XIntOrString:
		return "int-or-string"
	case s.Type == "array":
		if s.Items != nil && s.Items.Schema != nil {
			return "[]" + typeOf(s.Items.Schema)
		}
		return "[]any"
	case s.Type == "object" && s.AdditionalProperties != nil && len(s.Properties) == 0:
		if s.AdditionalProperties.Schema != nil {
			return "map[string]" + typeOf(s.AdditionalProperties.Schema)
		}
		return "map[string]any"
	case s.Type == "":
		return "any"
	case s.Format != "":
		return s.Type + " (" + s.Format + ")"
	default:
		return s.Type
	}
}

// rulesOf lists the schema's own validation, then that of the items of a scalar array
// (prefixed "items"), since such items get no row of their own.
func rulesOf(s *apiextensionsv1.JSONSchemaProps) []rule {
	rules := ownRules(s)
	if s.Type == "array" && s.Items != nil && s.Items.Schema != nil && len(s.Items.Schema.Properties) == 0 {
		for _, r := range ownRules(s.Items.Schema) {
			r.Label = "item " + r.Label
			rules = append(rules, r)
		}
	}
	return rules
}

func ownRules(s *apiextensionsv1.JSONSchemaProps) []rule {
	var rules []rule
	add := func(label string, literals ...string) { rules = append(rules, rule{Label: label, Literals: literals}) }
	if len(s.Enum) > 0 {
		values := make([]string, 0, len(s.Enum))
		for _, v := range s.Enum {
			values = append(values, jsonLiteral(v.Raw))
		}
		add("enum", values...)
	}
	if s.Default != nil {
		add("default", jsonLiteral(s.Default.Raw))
	}
	if s.Pattern != "" {
		add("pattern", s.Pattern)
	}
	if b := bounds(s.MinLength, s.MaxLength); b != "" {
		rules = append(rules, rule{Label: "length", Text: b})
	}
	if b := numberBounds(s); b != "" {
		rules = append(rules, rule{Label: "value", Text: b})
	}
	if s.MultipleOf != nil {
		rules = append(rules, rule{Label: "multiple of", Text: formatNumber(*s.MultipleOf)})
	}
	if b := bounds(s.MinItems, s.MaxItems); b != "" {
		rules = append(rules, rule{Label: "list size", Text: b})
	}
	if b := bounds(s.MinProperties, s.MaxProperties); b != "" {
		rules = append(rules, rule{Label: "property count", Text: b})
	}
	if s.UniqueItems {
		rules = append(rules, rule{Label: "unique items"})
	}
	if s.Nullable {
		rules = append(rules, rule{Label: "nullable"})
	}
	if s.XListType != nil {
		text := *s.XListType
		if len(s.XListMapKeys) > 0 {
			text += " (keys: " + strings.Join(s.XListMapKeys, ", ") + ")"
		}
		rules = append(rules, rule{Label: "list type", Text: text})
	}
	if s.XMapType != nil {
		rules = append(rules, rule{Label: "map type", Text: *s.XMapType})
	}
	if s.XPreserveUnknownFields != nil && *s.XPreserveUnknownFields {
		rules = append(rules, rule{Label: "preserves unknown fields"})
	}
	if s.XEmbeddedResource {
		rules = append(rules, rule{Label: "embedded resource"})
	}
	for _, v := range s.XValidations {
		rules = append(rules, celRule(v))
	}
	return rules
}

// celRule describes an x-kubernetes-validations entry by the message a user sees first,
// then the expression that produces it.
func celRule(v apiextensionsv1.ValidationRule) rule {
	r := rule{Label: "CEL", Literals: []string{v.Rule}}
	switch {
	case v.Message != "":
		r.Text = v.Message
	case v.MessageExpression != "":
		r.Text = "message from " + v.MessageExpression
	default:
		r.Text = "failed rule: " + v.Rule
	}
	var notes []string
	if v.FieldPath != "" {
		notes = append(notes, "reported on "+v.FieldPath)
	}
	if v.Reason != nil {
		notes = append(notes, "reason "+string(*v.Reason))
	}
	if len(notes) > 0 {
		r.Text += " (" + strings.Join(notes, "; ") + ")"
	}
	return r
}

// bounds renders an inclusive range such as "1..253", "min 1" or "max 11"; "" when unbounded.
func bounds(lo, hi *int64) string {
	switch {
	case lo != nil && hi != nil:
		return fmt.Sprintf("%d..%d", *lo, *hi)
	case lo != nil:
		return fmt.Sprintf("min %d", *lo)
	case hi != nil:
		return fmt.Sprintf("max %d", *hi)
	}
	return ""
}

func numberBounds(s *apiextensionsv1.JSONSchemaProps) string {
	var parts []string
	if s.Minimum != nil {
		op := "min"
		if s.ExclusiveMinimum {
			op = "greater than"
		}
		parts = append(parts, op+" "+formatNumber(*s.Minimum))
	}
	if s.Maximum != nil {
		op := "max"
		if s.ExclusiveMaximum {
			op = "less than"
		}
		parts = append(parts, op+" "+formatNumber(*s.Maximum))
	}
	return strings.Join(parts, ", ")
}

func formatNumber(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

// jsonLiteral shows a string enum value bare (as it is written in YAML) and anything else as
// compact JSON.
func jsonLiteral(raw []byte) string {
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return s
	}
	return compactJSON(raw)
}

func compactJSON(raw []byte) string {
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return string(raw)
	}
	// Marshal sorts map keys, which keeps the output deterministic.
	b, err := json.Marshal(v)
	if err != nil {
		return string(raw)
	}
	return string(b)
}

func join(prefix, name string) string {
	if prefix == "" {
		return name
	}
	return prefix + "." + name
}

func sortedKeys(m map[string]apiextensionsv1.JSONSchemaProps) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
