package plugin

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/spf13/cobra"

	"github.com/studio-operator/studio-operator/internal/store"
)

const (
	// auditPageSize is the largest page the store serves.
	auditPageSize = 1000
	// maxAuditPages bounds the walk through the log, in case a misbehaving server
	// keeps answering with a next page.
	maxAuditPages = 100_000
	errLimit      = "invalid --limit %d: want 0 (no limit) or more"
	noticeNoAudit = "No audit entries found\n"
)

// AuditList is what audit -o json|yaml prints (the store's shape).
type AuditList struct {
	Entries []store.AuditEntry `json:"entries"`
}

func newAuditCommand(e *deps) *cobra.Command {
	var since, output string
	var limit int
	cmd := &cobra.Command{
		Use:   "audit [USER]",
		Short: "Show the Studio user store's audit log, for everyone or one user",
		Long: `Show the audit log of the Studio user store, oldest first: who (actor, and on whose
behalf: e.g. argocd:<app> or the field manager that changed the object) did what to
which user, agency or environment. Every change the operator makes is there, and so is
every change made in the Studio itself.

Needs the store's address and a token: --store-url and --store-token-file, or
STUDIO_STORE_URL and STUDIO_STORE_TOKEN (a reader token is enough).`,
		Example: `  # The last 100 entries
  kubectl studio audit

  # What happened to ana in the last hour
  kubectl studio audit ana --since 1h

  # Everything since a point in time, with details, as the store sends it
  kubectl studio audit --since 2026-01-02T15:04:05Z --limit 0 -o json`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(output, outputWide, outputJSON, outputYAML); err != nil {
				return err
			}
			if limit < 0 {
				return fmt.Errorf(errLimit, limit)
			}
			from, err := ParseSince(since, e.now())
			if err != nil {
				return err
			}
			s, err := e.clients.Store()
			if err != nil {
				return err
			}
			filter := store.AuditFilter{Limit: auditPageSize}
			if len(args) == 1 {
				filter.User = args[0]
			}
			entries, err := readAudit(cmd.Context(), s, filter, from, limit)
			if err != nil {
				return err
			}

			switch output {
			case outputJSON, outputYAML:
				return printData(e.streams.Out, output, AuditList{Entries: entries})
			}
			if len(entries) == 0 {
				fmt.Fprint(e.streams.ErrOut, noticeNoAudit)
				return nil
			}
			return WriteTable(e.streams.Out, AuditTable(entries, output == outputWide))
		},
	}
	cmd.Flags().StringVar(&since, "since", "", "Only entries newer than a duration (1h, 30m) or an RFC3339 time")
	cmd.Flags().IntVar(&limit, "limit", 100, "Show at most this many of the most recent entries; 0 shows all")
	addOutputFlag(cmd, &output, outputWide, outputJSON, outputYAML)
	return cmd
}

// readAudit returns the entries of filter newer than from, at most limit (0: all) of
// the most recent, oldest first. With a limit it reads the store's listing newest
// first and stops once it has them, so the last 100 entries of a long log cost one
// page; a store that does not list newest first (an older version answers in seq
// order, whatever it is asked) is read forwards instead.
func readAudit(ctx context.Context, s store.API, filter store.AuditFilter, from time.Time, limit int) ([]store.AuditEntry, error) {
	if limit > 0 {
		newest, ok, err := readNewest(ctx, s, filter, from, limit)
		if err != nil || ok {
			return newest, err
		}
	}
	tail := NewAuditTail(from, limit)
	for range maxAuditPages {
		page, err := s.ListAudit(ctx, filter)
		if err != nil {
			return nil, err
		}
		tail.Add(page.Entries)
		if page.Next == nil || *page.Next <= filter.After {
			break
		}
		filter.After = *page.Next
	}
	return tail.Entries(), nil
}

// readNewest reads up to limit entries newer than from, newest first, and returns them
// oldest first; ok is false when the store's answers are not newest first.
func readNewest(ctx context.Context, s store.API, filter store.AuditFilter, from time.Time, limit int) ([]store.AuditEntry, bool, error) {
	f := filter
	f.Desc, f.Limit = true, min(limit, auditPageSize)
	var newest []store.AuditEntry
	done := func() ([]store.AuditEntry, bool, error) {
		slices.Reverse(newest)
		return newest, true, nil
	}
	for range maxAuditPages {
		page, err := s.ListAudit(ctx, f)
		if err != nil {
			return nil, false, err
		}
		for _, e := range page.Entries {
			if len(newest) > 0 && e.Seq >= newest[len(newest)-1].Seq {
				return nil, false, nil // not newest first: the store ignored the direction
			}
			if e.Time.Before(from) || len(newest) == limit {
				return done()
			}
			newest = append(newest, e)
		}
		if page.Next == nil || *page.Next <= 0 || (f.Before > 0 && *page.Next >= f.Before) {
			return done() // the end, or a next page that would not go further back
		}
		f.Before = *page.Next
	}
	return done()
}
