package server

import (
	"context"
	"log/slog"
	"time"

	"wsus/catalog"
	"wsus/catalog/rules"
)

// DefaultRulesInterval is how often `wsusd serve` runs the approval rules
// when Config.RulesInterval is zero: rings wait for days and installs, so
// minutes are fine-grained enough.
const DefaultRulesInterval = 5 * time.Minute

// rulesJobs runs the approval rules for `wsusd serve`: every interval,
// after each successful synchronization (syncer.Config.AfterRun), and when
// the admin API asks (POST /api/v1/rules/run). The store's lease lets one
// run at a time across replicas.
type rulesJobs struct {
	runner   *rules.Runner
	interval time.Duration // negative: never periodically
	log      *slog.Logger
}

func newRulesJobs(cfg Config, stores Stores, logger *slog.Logger) (*rulesJobs, error) {
	runner, err := rules.New(rules.Config{Store: stores.Catalog, Logger: logger})
	if err != nil {
		return nil, err
	}
	interval := cfg.RulesInterval
	if interval == 0 {
		interval = DefaultRulesInterval
	}
	return &rulesJobs{runner: runner, interval: interval, log: logger}, nil
}

// run runs the rules once now, logging a failure.
func (j *rulesJobs) run(ctx context.Context, why string) {
	if _, err := j.runner.Run(ctx, time.Now()); err != nil {
		j.log.WarnContext(ctx, "rules: run failed", "trigger", why, "err", err)
	}
}

// afterSync is the syncer's AfterRun hook.
func (j *rulesJobs) afterSync(ctx context.Context, _ catalog.SyncRun) { j.run(ctx, "sync") }

// serve runs the rules every interval until ctx ends; wait returns once
// the last run ended.
func (j *rulesJobs) serve(ctx context.Context) (wait func()) {
	done := make(chan struct{})
	if j.interval < 0 {
		close(done)
		return func() { <-done }
	}
	go func() {
		defer close(done)
		t := time.NewTicker(j.interval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				j.run(ctx, "schedule")
			}
		}
	}()
	return func() { <-done }
}
