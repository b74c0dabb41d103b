package syncer_test

import (
	"context"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/google/uuid"

	"wsus/catalog"
	"wsus/catalog/rules"
	"wsus/sync/syncer"
	"wsus/sync/upstream"
)

// TestAfterRunRunsTheRules: Config.AfterRun is called once after a run
// that succeeded, never after one that failed; with the approval rules
// there (as wsusd wires them), a synchronization's new updates are
// approved by the rules before Run returns, as WSUS's rules run after each
// synchronization.
func TestAfterRunRunsTheRules(t *testing.T) {
	a, _ := startUpstream(t, 20, 7)
	_, b := open(t, false)
	ctx := context.Background()
	runner, err := rules.New(rules.Config{Store: b.Catalog, Holder: "test"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Catalog.PutApprovalRule(ctx, catalog.ApprovalRule{ID: uuid.New(), Name: "Everything", Enabled: true,
		Groups: []uuid.UUID{catalog.AllComputersGroupID}}); err != nil {
		t.Fatal(err)
	}
	var calls []catalog.SyncRun
	var reports []rules.Report
	sy, err := syncer.New(syncer.Config{
		Store:   b.Catalog,
		Content: syncer.Downloads{Store: b.Blobs},
		// The failed run below gives up after a second of retries.
		Upstream: upstream.Config{MaxElapsed: time.Second, Logger: slog.New(slog.DiscardHandler)},
		Logger:   slog.New(slog.DiscardHandler),
		AfterRun: func(ctx context.Context, run catalog.SyncRun) {
			calls = append(calls, run)
			rep, err := runner.Run(ctx, time.Now())
			if err != nil {
				t.Errorf("rules: %v", err)
			}
			reports = append(reports, rep)
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	setUpstream := func(url string) {
		s, err := b.Catalog.SyncSettings(ctx)
		if err != nil {
			t.Fatal(err)
		}
		s.UpstreamURL, s.AllProducts, s.AllClassifications = url, true, true
		if err := b.Catalog.SetSyncSettings(ctx, s); err != nil {
			t.Fatal(err)
		}
	}

	// A failed run: no call.
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	downURL := "http://" + closed.Addr().String()
	closed.Close()
	setUpstream(downURL)
	if _, err := sy.Run(ctx, "manual", nil); err == nil {
		t.Fatal("a run against a closed port succeeded")
	}
	if len(calls) != 0 {
		t.Fatalf("AfterRun called after a failed run: %+v", calls)
	}

	setUpstream(a.url)
	run, err := sy.Run(ctx, "manual", nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(calls) != 1 || calls[0].ID != run.ID || calls[0].State != catalog.SyncSucceeded {
		t.Fatalf("AfterRun calls %+v after run %+v", calls, run)
	}
	if len(reports[0].Approved) == 0 {
		t.Fatalf("the rules approved nothing after the synchronization: %+v", reports[0])
	}
	approvals, err := b.Catalog.Approvals(ctx)
	if err != nil {
		t.Fatal(err)
	}
	byRule := 0
	for _, ap := range approvals {
		if ap.By == "rule:Everything" {
			byRule++
		}
	}
	if byRule != len(reports[0].Approved) {
		t.Errorf("%d approvals by the rule in the store, the report says %d", byRule, len(reports[0].Approved))
	}
}
