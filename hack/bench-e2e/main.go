// Command bench-e2e runs the end-to-end scale benchmark (`make bench-e2e`): per size a
// floor run and a manager run on fresh envtest control planes, the fan-out, idle,
// memory and mail measurements, then the store listing; it replaces the bench-e2e
// region of -out. See package test/scale.
//
//	go run ./hack/bench-e2e -sizes 500 -list-users 10000 -resync-period 1m -out /tmp/bench.md
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"

	"github.com/studio-operator/studio-operator/test/scale"
)

func main() {
	cfg := scale.DefaultConfig()
	fs := flag.NewFlagSet("bench-e2e", flag.ExitOnError)
	sizes := fs.String("sizes", joinInts(cfg.Sizes), "comma-separated user counts, one floor and one manager run each")
	fs.IntVar(&cfg.Agencies, "agencies", cfg.Agencies, "agencies (each with its own homeNamespace)")
	fs.IntVar(&cfg.EnvsPerAgency, "envs-per-agency", cfg.EnvsPerAgency, "environments per agency")
	fs.IntVar(&cfg.EnvBindingsPerUser, "env-bindings-per-user", cfg.EnvBindingsPerUser, "environment-scoped RoleBindings per user (one subject each)")
	fs.IntVar(&cfg.AgencySubjects, "agency-subjects", cfg.AgencySubjects, "subjects per agency-scoped RoleBinding")
	fs.IntVar(&cfg.FanoutSubjects, "fanout-subjects", cfg.FanoutSubjects, "subjects of the fan-out binding (the first agency binding of ag-1)")
	fs.DurationVar(&cfg.ResyncPeriod, "resync-period", cfg.ResyncPeriod, "the manager's --resync-period; also sets the idle window")
	fs.IntVar(&cfg.ListUsers, "list-users", cfg.ListUsers, "users in the store-listing phase; 0 skips it")
	fs.DurationVar(&cfg.Timeout, "timeout", cfg.Timeout, "time limit per size (and for the listing)")
	fs.StringVar(&cfg.ManagerBin, "manager-bin", cfg.ManagerBin, "manager binary")
	fs.StringVar(&cfg.StoreBin, "store-bin", cfg.StoreBin, "studio-store binary")
	managerArgs := fs.String("manager-args", "", "extra manager arguments, space-separated (experiments)")
	fs.StringVar(&cfg.WorkDir, "work-dir", "", "directory for logs, databases and mails (default: a new temporary directory, kept)")
	fs.StringVar(&cfg.Out, "out", cfg.Out, "Markdown file whose bench-e2e region is replaced; empty writes none")
	fs.StringVar(&cfg.JSONOut, "json", "", "results as JSON (default: <work-dir>.json)")
	notes := fs.String("notes", "docs/bench-e2e-notes.md", "Markdown analysis carried into the report after the table; missing is fine")
	render := fs.String("render", "", "re-render -out from the JSON results of an earlier run (its <work-dir>.json) with the current -notes, without running anything")
	_ = fs.Parse(os.Args[1:])
	if fs.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "bench-e2e: unexpected arguments: %s\n", strings.Join(fs.Args(), " "))
		os.Exit(2)
	}
	var err error
	if cfg.Sizes, err = parseInts(*sizes); err != nil {
		fmt.Fprintf(os.Stderr, "bench-e2e: -sizes: %v\n", err)
		os.Exit(2)
	}
	cfg.ManagerArgs = strings.Fields(*managerArgs)
	if b, err := os.ReadFile(*notes); err == nil {
		cfg.Notes = string(b)
	} else if !os.IsNotExist(err) {
		fmt.Fprintf(os.Stderr, "bench-e2e: -notes: %v\n", err)
		os.Exit(2)
	}
	cfg.Command = commandLine(os.Args)
	if *render != "" {
		if err := scale.Rerender(*render, cfg.Notes, cfg.Out); err != nil {
			fmt.Fprintf(os.Stderr, "bench-e2e: -render: %v\n", err)
			os.Exit(1)
		}
		return
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if _, err := scale.Run(ctx, cfg); err != nil {
		fmt.Fprintf(os.Stderr, "bench-e2e: %v\n", err)
		stop()
		os.Exit(1)
	}
}

func parseInts(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("%q is not a positive number", f)
		}
		out = append(out, n)
	}
	return out, nil
}

func joinInts(xs []int) string {
	parts := make([]string, len(xs))
	for i, x := range xs {
		parts[i] = strconv.Itoa(x)
	}
	return strings.Join(parts, ",")
}

// commandLine is the command as one would type it: `go run ./hack/bench-e2e` when
// run that way (the binary then sits in Go's build cache), arguments with shell
// characters single-quoted.
func commandLine(args []string) string {
	name := args[0]
	if strings.Contains(name, "go-build") {
		name = "go run ./hack/bench-e2e"
	}
	parts := []string{name}
	for _, a := range args[1:] {
		if a == "" || strings.ContainsFunc(a, func(r rune) bool {
			return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("_./=:,-", r))
		}) {
			a = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
		parts = append(parts, a)
	}
	return strings.Join(parts, " ")
}
