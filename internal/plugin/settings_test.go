package plugin

import (
	"os"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestResolveStoreSettings(t *testing.T) {
	files := map[string]string{"/tok": "s3cr3t\n", "/empty": "\n"}
	readFile := func(name string) ([]byte, error) {
		if s, ok := files[name]; ok {
			return []byte(s), nil
		}
		return nil, os.ErrNotExist
	}
	cases := map[string]struct {
		url, tokenFile string
		env            map[string]string
		want           storeSettings
		wantErr        string
	}{
		"flags":                {url: "http://127.0.0.1:1", tokenFile: "/tok", want: storeSettings{URL: "http://127.0.0.1:1", Token: "s3cr3t"}},
		"environment":          {env: map[string]string{EnvStoreURL: "http://e", EnvStoreToken: "t"}, want: storeSettings{URL: "http://e", Token: "t"}},
		"flags win":            {url: "http://f", tokenFile: "/tok", env: map[string]string{EnvStoreURL: "http://e", EnvStoreToken: "t"}, want: storeSettings{URL: "http://f", Token: "s3cr3t"}},
		"nothing names both":   {wantErr: errStoreNotConfigured},
		"token without url":    {env: map[string]string{EnvStoreToken: "t"}, wantErr: errStoreNotConfigured},
		"url without token":    {url: "http://f", wantErr: errStoreNoToken},
		"empty token file":     {url: "http://f", tokenFile: "/empty", wantErr: "--store-token-file /empty is empty"},
		"missing token file":   {url: "http://f", tokenFile: "/nope", wantErr: "reading --store-token-file: file does not exist"},
		"blank token variable": {env: map[string]string{EnvStoreURL: "http://e", EnvStoreToken: "  "}, wantErr: errStoreNoToken},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got, err := resolveStoreSettings(tc.url, tc.tokenFile, func(k string) string { return tc.env[k] }, readFile)
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseEnvironmentRef(t *testing.T) {
	cases := map[string]struct {
		ref, namespace string
		want           string
		wantErr        bool
	}{
		"namespace/name":     {ref: "team-support/webchat", namespace: "default", want: "team-support/webchat"},
		"name in -n":         {ref: "leadbot", namespace: "team-sales", want: "team-sales/leadbot"},
		"dotted name":        {ref: "team-sales/lead.bot", want: "team-sales/lead.bot"},
		"too many slashes":   {ref: "a/b/c", wantErr: true},
		"empty name":         {ref: "team-sales/", wantErr: true},
		"bad namespace":      {ref: "Team/x", wantErr: true},
		"no namespace known": {ref: "x", namespace: "", wantErr: true},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got, err := parseEnvironmentRef(tc.ref, tc.namespace)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tc.wantErr)
			}
			if got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestCheckOutput(t *testing.T) {
	if err := checkOutput("", outputJSON); err != nil {
		t.Errorf("the default table is always allowed: %v", err)
	}
	err := checkOutput("name", outputWide, outputJSON)
	if want := `unable to match a printer suitable for the output format "name", allowed formats are: wide,json`; err == nil || err.Error() != want {
		t.Errorf("err = %v, want %q", err, want)
	}
	if err := checkOutput(outputJSON, outputJSON); err != nil {
		t.Errorf("json is offered: %v", err)
	}
}
