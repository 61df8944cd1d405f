package plugin

import (
	"fmt"

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
			tail := NewAuditTail(from, limit)
			for range maxAuditPages {
				page, err := s.ListAudit(cmd.Context(), filter)
				if err != nil {
					return err
				}
				tail.Add(page.Entries)
				if page.Next == nil || *page.Next <= filter.After {
					break
				}
				filter.After = *page.Next
			}
			entries := tail.Entries()

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
