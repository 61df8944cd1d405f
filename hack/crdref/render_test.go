package main

import (
	"bytes"
	"testing"
)

func TestCode(t *testing.T) {
	cases := map[string]struct {
		in, want string
	}{
		"plain":              {in: "spec.email", want: "`spec.email`"},
		"pipe is escaped":    {in: "a || b", want: "`a \\|\\| b`"},
		"backtick inside":    {in: "a`b", want: "`` a`b ``"},
		"newlines collapse":  {in: "a\n  b", want: "`a b`"},
		"html stays literal": {in: "<key>", want: "`<key>`"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if got := code(tc.in); got != tc.want {
				t.Errorf("code(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestText(t *testing.T) {
	cases := map[string]struct {
		in, want string
	}{
		"prose":                   {in: "name of the StudioUser.", want: "name of the StudioUser."},
		"lines join":              {in: "first line\nsecond  line\n", want: "first line second line"},
		"tags would vanish":       {in: "(<namespace>/<name>)", want: "(&lt;namespace&gt;/&lt;name&gt;)"},
		"pipes would split cells": {in: "Same|All", want: `Same\|All`},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if got := text(tc.in); got != tc.want {
				t.Errorf("text(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestRenderRule(t *testing.T) {
	cases := map[string]struct {
		in   rule
		want string
	}{
		"label only":       {in: rule{Label: "unique items"}, want: "unique items"},
		"literals":         {in: rule{Label: "enum", Literals: []string{"A", "B"}}, want: "enum: `A`, `B`"},
		"text":             {in: rule{Label: "length", Text: "1..63"}, want: "length: 1..63"},
		"literal and text": {in: rule{Label: "CEL", Literals: []string{"self == oldSelf"}, Text: "email is immutable"}, want: "CEL `self == oldSelf`: email is immutable"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if got := renderRule(tc.in); got != tc.want {
				t.Errorf("renderRule = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestRunIsDeterministic(t *testing.T) {
	var first, second bytes.Buffer
	if err := run([]string{crdDir}, &first); err != nil {
		t.Fatal(err)
	}
	if err := run([]string{crdDir}, &second); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(first.Bytes(), second.Bytes()) {
		t.Fatal("two generations from the same CRDs differ")
	}
}

func TestRunNeedsOneDirectory(t *testing.T) {
	for name, args := range map[string][]string{"none": nil, "two": {"a", "b"}} {
		t.Run(name, func(t *testing.T) {
			if err := run(args, &bytes.Buffer{}); err == nil {
				t.Error("run accepted a wrong number of arguments")
			}
		})
	}
}

func TestLoadCRDsRejectsADirectoryWithoutCRDs(t *testing.T) {
	if _, err := loadCRDs(t.TempDir()); err == nil {
		t.Error("loadCRDs accepted an empty directory")
	}
}
