package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"time"

	"wsus/catalog"
	"wsus/catalog/rules"
)

// rulesAfterSync is the syncer's AfterRun hook of `wsusd sync`: the
// approval rules, rings and automatic declines run after a successful
// synchronization, as WSUS runs its rules; what they did, if anything, is
// printed.
func rulesAfterSync(store catalog.Store, logger *slog.Logger, stdout io.Writer) func(context.Context, catalog.SyncRun) {
	return func(ctx context.Context, _ catalog.SyncRun) {
		r, err := rules.New(rules.Config{Store: store, Logger: logger})
		if err == nil {
			var rep rules.Report
			if rep, err = r.Run(ctx, time.Now()); err == nil {
				if rep.Skipped != "" {
					fmt.Fprintf(stdout, "rules: not run: %s\n", rep.Skipped)
					return
				}
				if len(rep.Approved)+len(rep.Declined)+len(rep.Paused) > 0 {
					fmt.Fprintf(stdout, "rules: %d approved, %d declined, %d rings paused, %d waiting\n",
						len(rep.Approved), len(rep.Declined), len(rep.Paused), len(rep.Waiting))
				}
				for _, e := range rep.Errors {
					fmt.Fprintf(stdout, "rules: failed: %s\n", e)
				}
				return
			}
		}
		logger.WarnContext(ctx, "rules: run after the synchronization failed", "err", err)
	}
}
