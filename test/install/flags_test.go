package install

import (
	"flag"
	"go/ast"
	"go/parser"
	"go/token"
	"strconv"
	"strings"
	"testing"

	"sigs.k8s.io/controller-runtime/pkg/log/zap"
)

// The files that define the binaries' flags. The chart passes flags by name, so the
// tests read the names from the source: a renamed flag fails here, not in a cluster.
const (
	managerFlagsFile = repoRoot + "/cmd/manager/flags.go"
	storeFlagsFile   = repoRoot + "/internal/storeserver/command.go"
)

// definedFlags returns the names of the flags a Go file defines with the flag or
// pflag packages' XxxVar functions (name = second argument, a string literal).
func definedFlags(t *testing.T, file string) map[string]bool {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), file, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	ast.Inspect(f, func(n ast.Node) bool {
		call, ok := n.(*ast.CallExpr)
		if !ok || len(call.Args) < 2 {
			return true
		}
		sel, ok := call.Fun.(*ast.SelectorExpr)
		if !ok || !(strings.HasSuffix(sel.Sel.Name, "Var") || strings.HasSuffix(sel.Sel.Name, "VarP")) {
			return true
		}
		if lit, ok := call.Args[1].(*ast.BasicLit); ok && lit.Kind == token.STRING {
			if name, err := strconv.Unquote(lit.Value); err == nil {
				names[name] = true
			}
		}
		return true
	})
	// A handful would mean the scan no longer understands the file.
	if len(names) < 10 {
		t.Fatalf("found only %d flags in %s: %v", len(names), file, names)
	}
	return names
}

// managerFlags are the manager's own flags and controller-runtime's --zap-* flags.
func managerFlags(t *testing.T) map[string]bool {
	t.Helper()
	names := definedFlags(t, managerFlagsFile)
	fs := flag.NewFlagSet("zap", flag.ContinueOnError)
	(&zap.Options{}).BindFlags(fs)
	fs.VisitAll(func(f *flag.Flag) { names[f.Name] = true })
	return names
}

// checkFlags reports every argument that is not a --flag the binary defines.
func checkFlags(t *testing.T, what string, args []string, defined map[string]bool) {
	t.Helper()
	for _, a := range args {
		name, ok := strings.CutPrefix(a, "--")
		if !ok {
			t.Errorf("%s: argument %q is not a --flag", what, a)
			continue
		}
		name, _, _ = strings.Cut(name, "=")
		if !defined[name] {
			t.Errorf("%s: --%s is not a flag of the binary", what, name)
		}
	}
}

func TestFlagScanFindsKnownFlags(t *testing.T) {
	m := managerFlags(t)
	for _, f := range []string{"store-url", "store-token-file", "instance-id", "leader-elect", "metrics-bind-address", "health-probe-bind-address", "zap-log-level"} {
		if !m[f] {
			t.Errorf("manager flag --%s not found", f)
		}
	}
	s := definedFlags(t, storeFlagsFile)
	for _, f := range []string{"listen", "db", "public-url", "tokens-file", "smtp-url", "mail-dir"} {
		if !s[f] {
			t.Errorf("store flag --%s not found", f)
		}
	}
}
