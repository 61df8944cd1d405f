// Package arch checks the import rules of docs/architecture.md ("Package map"): what
// each layer may depend on, so that pure logic stays pure and the operator reaches the
// store only through its client.
package arch

import (
	"encoding/json"
	"io"
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/studio-operator/studio-operator"

// rule: packages under prefix must not import any package under a forbidden prefix
// (module-relative; "" means any package of this module other than allowed ones).
type rule struct {
	pkg      string
	forbid   []string
	allowOwn []string // with forbid == [""]: the only packages of ours it may import
}

var rules = []rule{
	{pkg: "internal/cascade", forbid: []string{""}},
	{pkg: "internal/testclock", forbid: []string{""}},
	{pkg: "internal/operator/memlimit", forbid: []string{""}},
	{pkg: "internal/operator/cachetrim", forbid: []string{""}, allowOwn: []string{"api/v1alpha1"}},
	{pkg: "internal/store/auditcheck", forbid: []string{""}, allowOwn: []string{"internal/store"}},
	{pkg: "api/v1alpha1", forbid: []string{""}},
	{pkg: "internal/store", forbid: []string{""}, allowOwn: []string{"internal/cascade"}},
	{pkg: "internal/operator/planner", forbid: []string{""},
		allowOwn: []string{"api/v1alpha1", "internal/cascade", "internal/store"}},
	{pkg: "controllers", forbid: []string{
		"internal/store/sqlstore", "internal/store/httpapi", "internal/store/client", "internal/storeserver",
		"internal/store/mail", "internal/sandbox", "internal/plugin", "cmd/",
	}},
	{pkg: "internal/store/client", forbid: []string{"internal/store/sqlstore", "internal/store/httpapi", "controllers"}},
	{pkg: "internal/store/sqlstore", forbid: []string{"internal/store/httpapi", "internal/store/client", "controllers", "internal/operator"}},
	{pkg: "internal/plugin", forbid: []string{"internal/store/sqlstore", "controllers", "internal/sandbox"}},
}

type listed struct {
	ImportPath string
	Imports    []string
}

func TestImportRules(t *testing.T) {
	cmd := exec.Command("go", "list", "-json", "./...")
	cmd.Dir = "../.."
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var pkgs []listed
	dec := json.NewDecoder(out)
	for {
		var p listed
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("go list: %v", err)
	}
	if len(pkgs) < 20 {
		t.Fatalf("go list found %d packages; the module has more", len(pkgs))
	}
	checked := map[string]bool{}
	for _, p := range pkgs {
		rel := strings.TrimPrefix(strings.TrimPrefix(p.ImportPath, module), "/")
		for _, r := range rules {
			if rel != r.pkg {
				continue
			}
			checked[r.pkg] = true
			for _, imp := range p.Imports {
				if !strings.HasPrefix(imp, module+"/") {
					continue
				}
				own := strings.TrimPrefix(imp, module+"/")
				if violates(r, own) {
					t.Errorf("%s imports %s, which its layer must not", rel, own)
				}
			}
		}
	}
	for _, r := range rules {
		if !checked[r.pkg] {
			t.Errorf("rule for %s matched no package: renamed?", r.pkg)
		}
	}
}

func violates(r rule, own string) bool {
	for _, f := range r.forbid {
		if f == "" {
			for _, a := range r.allowOwn {
				if own == a {
					return false
				}
			}
			return true
		}
		if own == strings.TrimSuffix(f, "/") || strings.HasPrefix(own, strings.TrimSuffix(f, "/")+"/") {
			return true
		}
	}
	return false
}

func TestViolates(t *testing.T) {
	cases := map[string]struct {
		r    rule
		own  string
		want bool
	}{
		"pure: any own import":    {rule{pkg: "x", forbid: []string{""}}, "internal/store", true},
		"pure: allowed":           {rule{pkg: "x", forbid: []string{""}, allowOwn: []string{"internal/cascade"}}, "internal/cascade", false},
		"prefix: the package":     {rule{pkg: "x", forbid: []string{"internal/store/sqlstore"}}, "internal/store/sqlstore", true},
		"prefix: a sub-package":   {rule{pkg: "x", forbid: []string{"cmd/"}}, "cmd/manager", true},
		"prefix: a longer name":   {rule{pkg: "x", forbid: []string{"internal/store/sqlstore"}}, "internal/store/sqlx", false},
		"prefix: another package": {rule{pkg: "x", forbid: []string{"internal/store/sqlstore"}}, "internal/store", false},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if got := violates(tc.r, tc.own); got != tc.want {
				t.Errorf("violates(%v, %q) = %v, want %v", tc.r, tc.own, got, tc.want)
			}
		})
	}
}
