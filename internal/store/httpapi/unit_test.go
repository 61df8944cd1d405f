package httpapi

import (
	"net/http"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

func TestWantsJSON(t *testing.T) {
	cases := map[string]struct {
		accept string
		want   bool
	}{
		"browser":          {accept: "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", want: false},
		"none":             {accept: "", want: false},
		"json":             {accept: "application/json", want: true},
		"problem json":     {accept: "application/problem+json, application/json;q=0.9", want: true},
		"json and html":    {accept: "application/json, text/html", want: false},
		"anything":         {accept: "*/*", want: false},
		"malformed member": {accept: "application/json, ;;", want: true},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			r, _ := http.NewRequest(http.MethodGet, "/", nil)
			r.Header.Set("Accept", tc.accept)
			if got := wantsJSON(r); got != tc.want {
				t.Errorf("wantsJSON(%q) = %v, want %v", tc.accept, got, tc.want)
			}
		})
	}
}

func TestBearerToken(t *testing.T) {
	cases := map[string]struct {
		header string
		want   string
		wantOK bool
	}{
		"bearer":         {header: "Bearer abc", want: "abc", wantOK: true},
		"case":           {header: "BEARER abc", want: "abc", wantOK: true},
		"extra spaces":   {header: "Bearer   abc ", want: "abc", wantOK: true},
		"empty":          {header: ""},
		"scheme only":    {header: "Bearer"},
		"scheme, space":  {header: "Bearer "},
		"basic":          {header: "Basic abc"},
		"token no space": {header: "Bearerabc"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			r, _ := http.NewRequest(http.MethodGet, "/", nil)
			r.Header.Set("Authorization", tc.header)
			got, ok := bearerToken(r)
			if got != tc.want || ok != tc.wantOK {
				t.Errorf("bearerToken(%q) = %q, %v; want %q, %v", tc.header, got, ok, tc.want, tc.wantOK)
			}
		})
	}
}

func TestCleanText(t *testing.T) {
	cases := map[string]struct {
		in   string
		want bool
	}{
		"ascii":       {in: "Agency//acme@1", want: true},
		"unicode":     {in: "argocd:équipe", want: true},
		"tab":         {in: "a\tb", want: false},
		"newline":     {in: "a\nb", want: false},
		"DEL":         {in: "a\x7fb", want: false},
		"C1 control":  {in: "a\u0085b", want: false},
		"invalid utf": {in: "a\xffb", want: false},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if got := cleanText(tc.in); got != tc.want {
				t.Errorf("cleanText(%q) = %v, want %v", tc.in, got, tc.want)
			}
		})
	}
}

func TestServersShareARegistry(t *testing.T) {
	reg := prometheus.NewRegistry()
	a, err := New(nil, nil, Options{Registry: reg})
	if err != nil {
		t.Fatal(err)
	}
	b, err := New(nil, nil, Options{Registry: reg})
	if err != nil {
		t.Fatalf("second server on the same registry: %v", err)
	}
	if a.metrics.requests != b.metrics.requests {
		t.Error("the servers do not share their request counter")
	}
}
