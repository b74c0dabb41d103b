package syncer

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"wsus/catalog"
)

// scheduleCheck is how often a Service looks whether a scheduled run is
// due: it also notices schedule changes made by an admin through any
// replica within this time.
const scheduleCheck = 30 * time.Second

// Service runs synchronizations for a serving process: on the schedule in
// the settings, and when asked through Start. Every replica of a cluster
// runs one; the store's lease lets one of them run at a time, and a
// scheduled slot that any replica already synchronized in is not run
// again.
type Service struct {
	s   *Syncer
	ctx context.Context
	wg  sync.WaitGroup
	// now is the clock (tests).
	now func() time.Time
}

// Serve starts the schedule and returns the Service; runs stop when ctx
// ends. Call Wait after that to let them record their outcome.
func (s *Syncer) Serve(ctx context.Context) *Service {
	svc := &Service{s: s, ctx: ctx, now: time.Now}
	svc.wg.Go(svc.schedule)
	return svc
}

// Start begins a run in the background (trigger "api") and returns it as
// begun: running, with its ID. Errors are those of Run that happen before
// a run begins (ErrBusy, ErrNoUpstream).
func (svc *Service) Start(ctx context.Context) (catalog.SyncRun, error) {
	if svc.ctx.Err() != nil {
		return catalog.SyncRun{}, fmt.Errorf("syncer: the server is shutting down: %w", catalog.ErrUnavailable)
	}
	r, err := svc.s.begin(ctx, "api")
	if err != nil {
		return catalog.SyncRun{}, err
	}
	run := r.snapshot()
	svc.wg.Go(func() { _, _ = r.execute(svc.ctx, nil) })
	return run, nil
}

// Wait waits for the schedule and every background run to return.
func (svc *Service) Wait() { svc.wg.Wait() }

// schedule runs a synchronization whenever a scheduled slot passed that no
// run started in.
func (svc *Service) schedule() {
	t := time.NewTicker(scheduleCheck)
	defer t.Stop()
	for {
		if err := svc.runIfDue(); err != nil && svc.ctx.Err() == nil {
			svc.s.log.Warn("syncer: scheduled synchronization", "err", err)
		}
		select {
		case <-svc.ctx.Done():
			return
		case <-t.C:
		}
	}
}

// runIfDue runs a synchronization when the schedule says one is due
// (catalog.SyncSettings.NextSync): a slot passed and no run started since.
func (svc *Service) runIfDue() error {
	settings, err := svc.s.cfg.Store.SyncSettings(svc.ctx)
	if err != nil {
		return err
	}
	now := svc.now()
	if _, scheduled := settings.LastSlot(now); !scheduled || settings.UpstreamURL == "" {
		return nil // nothing scheduled: spare the store the runs' read
	}
	runs, err := svc.s.cfg.Store.SyncRuns(svc.ctx, 1)
	if err != nil {
		return err
	}
	var lastStarted time.Time
	if len(runs) > 0 {
		lastStarted = runs[0].Started
	}
	if next, ok := settings.NextSync(lastStarted, now); !ok || next.After(now) {
		return nil
	}
	_, err = svc.s.Run(svc.ctx, "schedule", nil)
	if errors.Is(err, ErrBusy) {
		return nil // another replica (or an admin) runs it
	}
	return err
}

// ParseSchedule reads a schedule as `wsusd serve --sync-schedule` takes it:
// "off" (or empty) for none, "N" for N synchronizations a day from
// midnight UTC, "HH:MM/N" for N a day from HH:MM UTC (WSUS's "first
// synchronization" and "synchronizations per day"), N from 1 to 24.
func ParseSchedule(s string) (perDay int, first time.Duration, err error) {
	s = strings.TrimSpace(s)
	if s == "" || strings.EqualFold(s, "off") {
		return 0, 0, nil
	}
	at, n, hasAt := strings.Cut(s, "/")
	if !hasAt {
		at, n = "00:00", s
	}
	perDay, err = strconv.Atoi(n)
	if err != nil || perDay < 1 || perDay > 24 {
		return 0, 0, fmt.Errorf("schedule %q: want off, N or HH:MM/N with N from 1 to 24 synchronizations a day", s)
	}
	clock, err := time.Parse("15:04", at)
	if err != nil {
		return 0, 0, fmt.Errorf("schedule %q: the first synchronization %q is not HH:MM (UTC)", s, at)
	}
	return perDay, time.Duration(clock.Hour())*time.Hour + time.Duration(clock.Minute())*time.Minute, nil
}
