package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"wsus/catalog"
	"wsus/internal/settings"
	"wsus/server"
	"wsus/sync/download"
	"wsus/sync/syncer"
	"wsus/sync/upstream"
)

func syncCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var c common
	var o syncOptions
	s := syncSettings(&c, &o)
	rest, err := parseSettings(s, args, stderr, "usage: wsusd sync [flags]\n\nSynchronizes the catalog from the upstream server once, in the foreground, saving the choices given.\nLists (--product, --classification, --language) may be repeated or separated by \";\".")
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return flagError(fmt.Sprintf("sync takes no arguments, got %q", rest))
	}
	if err := c.validate(s); err != nil {
		return err
	}
	logger, stores, err := c.open(ctx, stderr)
	if err != nil {
		return err
	}
	defer c.flushLog()
	defer stores.Close()

	saved, err := stores.Catalog.SyncSettings(ctx)
	if err != nil {
		return err
	}
	if o.upstreamURL != "" {
		saved.UpstreamURL = o.upstreamURL
	}
	if o.content != "" {
		saved.Content = catalog.ContentMode(o.content)
	}
	if s.Lookup("replica").Given() {
		saved.Replica = o.replica
	}
	if saved.UpstreamURL == "" {
		return settings.Errorf("%s: no upstream server is saved yet; name one", s.Label("upstream"))
	}
	if err := stores.Catalog.SetSyncSettings(ctx, saved); err != nil {
		return err
	}
	var sel *syncer.Selection
	if o.productsSet || o.classesSet || o.langsSet {
		sel = &syncer.Selection{Products: o.products, Classifications: o.classes, Languages: o.langs}
	}
	progress := newProgressPrinter(stderr, logger)
	sy, err := syncer.New(syncer.Config{
		Store:    stores.Catalog,
		Upstream: upstream.Config{CAFile: o.caFile, Logger: logger},
		Content:  newContentFetcher(stores, logger),
		Lease:    o.lease,
		Logger:   logger,
		Progress: progress.show,
		AfterRun: rulesAfterSync(stores.Catalog, logger, stdout),
	})
	if err != nil {
		return err
	}
	run, err := sy.Run(ctx, "manual", sel)
	progress.done()
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "synchronized: %d new updates, %d revised, %d expired; %d files stored (%d bytes) in %s\n",
		run.New, run.Revised, run.Expired, run.Files, run.Bytes, run.Finished.Sub(run.Started).Round(time.Millisecond))
	return nil
}

// progressPrinter shows a run's progress: one rewritten line on a terminal
// (phase, done of total, rate, ETA), else a log line per phase and every
// 10 seconds.
type progressPrinter struct {
	w        io.Writer
	terminal bool
	log      *slog.Logger

	mu         sync.Mutex
	phase      string
	phaseStart time.Time
	last       time.Time
	lineLen    int
}

func newProgressPrinter(w io.Writer, log *slog.Logger) *progressPrinter {
	p := &progressPrinter{w: w, log: log}
	if f, ok := w.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			p.terminal = true
		}
	}
	return p
}

func (p *progressPrinter) show(run catalog.SyncRun) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now()
	newPhase := run.Phase != p.phase
	if newPhase {
		p.phase, p.phaseStart = run.Phase, now
	}
	interval := 10 * time.Second
	if p.terminal {
		interval = 200 * time.Millisecond
	}
	if !newPhase && now.Sub(p.last) < interval && run.Done != run.Total {
		return
	}
	p.last = now
	line := fmt.Sprintf("%s: %d of %d", run.Phase, run.Done, run.Total)
	// The rate and ETA count items, or bytes while files are downloaded.
	done, total, unit := float64(run.Done), float64(run.Total), "/s"
	if run.Phase == "content" {
		line += fmt.Sprintf(" files, %s of %s", bytesText(run.Bytes), bytesText(run.BytesTotal))
		done, total, unit = float64(run.Bytes), float64(run.BytesTotal), " B/s"
	}
	if el := now.Sub(p.phaseStart).Seconds(); el > 0.5 && done > 0 {
		rate := done / el
		if unit == " B/s" {
			line += fmt.Sprintf(", %s/s", bytesText(int64(rate)))
		} else {
			line += fmt.Sprintf(", %.0f%s", rate, unit)
		}
		if left := total - done; left > 0 {
			line += fmt.Sprintf(", ETA %s", time.Duration(left/rate*float64(time.Second)).Round(time.Second))
		}
	}
	if !p.terminal {
		p.log.Info("sync progress", "phase", run.Phase, "done", run.Done, "total", run.Total,
			"files", run.Files, "bytes", run.Bytes)
		return
	}
	pad := max(0, p.lineLen-len(line))
	fmt.Fprintf(p.w, "\r%s%s", line, strings.Repeat(" ", pad))
	p.lineLen = len(line)
}

// done ends the progress line.
func (p *progressPrinter) done() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.terminal && p.lineLen > 0 {
		fmt.Fprintln(p.w)
	}
}

func bytesText(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	default:
		return fmt.Sprintf("%d KiB", n>>10)
	}
}

// newContentFetcher returns the content phase of `wsusd sync`: downloads
// into the configured blob store.
func newContentFetcher(stores server.Stores, logger *slog.Logger) syncer.Content {
	return syncer.Downloads{Store: stores.Blobs, Config: download.Config{Logger: logger}}
}
