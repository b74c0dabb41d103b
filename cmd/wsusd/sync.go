package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"wsus/catalog"
	"wsus/server"
	"wsus/sync/download"
	"wsus/sync/syncer"
	"wsus/sync/upstream"
)

// listFlag is a flag that may be given several times; each value may also
// hold several entries separated by ";" (the form of its environment twin:
// titles contain commas, as "Windows 10, version 1903 and later").
type listFlag struct {
	values []string
	set    bool
}

func (l *listFlag) String() string { return strings.Join(l.values, ";") }

func (l *listFlag) Set(v string) error {
	l.set = true
	for _, part := range strings.Split(v, ";") {
		if part = strings.TrimSpace(part); part != "" {
			l.values = append(l.values, part)
		}
	}
	return nil
}

// given returns the values when the flag was set, else nil (keep the saved
// choice).
func (l *listFlag) given() []string {
	if !l.set {
		return nil
	}
	if l.values == nil {
		return []string{}
	}
	return l.values
}

func syncCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("wsusd sync", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c common
	env := map[string]string{}
	c.bind(fs, env)
	var (
		upstreamURL, caFile, content string
		products, classes, langs     listFlag
		lease                        time.Duration
		replica                      optionalBool
	)
	fs.StringVar(&upstreamURL, "upstream", "", "upstream server to synchronize from (https://sws.update.microsoft.com, http://wsus:8530); empty means the saved one")
	fs.StringVar(&caFile, "upstream-ca-file", "", "PEM file of certificates trusted for the upstream beside the system roots")
	fs.StringVar(&content, "content", "", "when payload files are stored: approved (after each sync, the files of approved updates), on-demand (when a client first asks), never (clients download from Microsoft Update); empty means the saved choice (approved at first)")
	fs.Var(&replica, "replica", "replica mode: also mirror the upstream's target groups, approvals and declines (saved); --replica=false returns to autonomous mode")
	fs.Var(&products, "product", "product to synchronize: GUID, exact title, or all; repeat for several (saved for later runs)")
	fs.Var(&classes, "classification", "classification to synchronize: GUID, exact title, or all; repeat for several (saved)")
	fs.Var(&langs, "language", "language of the updates to synchronize (en, de, ...), or all; repeat for several (saved)")
	fs.DurationVar(&lease, "sync-lease", syncer.DefaultLease, "how long a synchronization that stopped renewing its lease (its process died) blocks the next one")
	env["sync-lease"] = "WSUS_SYNC_LEASE"
	env["replica"] = "WSUS_SYNC_REPLICA"
	env["upstream"] = "WSUS_UPSTREAM_URL"
	env["upstream-ca-file"] = "WSUS_UPSTREAM_CA_FILE"
	env["content"] = "WSUS_SYNC_CONTENT"
	env["product"] = "WSUS_SYNC_PRODUCTS"
	env["classification"] = "WSUS_SYNC_CLASSIFICATIONS"
	env["language"] = "WSUS_SYNC_LANGUAGES"
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: wsusd sync [flags]\n\nSynchronizes the catalog from the upstream server once, in the foreground, saving the choices given.\nLists (--product, --classification, --language) may be repeated or separated by \";\".")
		printFlags(fs, env)
	}
	if err := parse(fs, args, env); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return flagError(fmt.Sprintf("sync takes no arguments, got %q", fs.Args()))
	}
	if lease <= 0 {
		return flagError(fmt.Sprintf("--sync-lease %s: want a positive duration", lease))
	}
	if content != "" && !catalog.ContentMode(content).Valid() {
		return flagError(fmt.Sprintf("--content %q: want approved, on-demand or never", content))
	}
	if upstreamURL != "" {
		// Checked here so that a wrong URL is refused before anything is saved.
		if _, err := upstream.New(upstream.Config{URL: upstreamURL, AccountName: "check"}); err != nil {
			return flagError(fmt.Sprintf("--upstream: %v", err))
		}
	}
	logger, stores, err := c.open(ctx, stderr)
	if err != nil {
		return err
	}
	defer c.flushLog()
	defer stores.Close()

	settings, err := stores.Catalog.SyncSettings(ctx)
	if err != nil {
		return err
	}
	if upstreamURL != "" {
		settings.UpstreamURL = upstreamURL
	}
	if content != "" {
		settings.Content = catalog.ContentMode(content)
	}
	if replica.set {
		settings.Replica = replica.value
	}
	if settings.UpstreamURL == "" {
		return flagError("--upstream: no upstream server is saved yet; name one")
	}
	if err := stores.Catalog.SetSyncSettings(ctx, settings); err != nil {
		return err
	}
	var sel *syncer.Selection
	if products.set || classes.set || langs.set {
		sel = &syncer.Selection{Products: products.given(), Classifications: classes.given(), Languages: langs.given()}
	}
	progress := newProgressPrinter(stderr, logger)
	s, err := syncer.New(syncer.Config{
		Store:    stores.Catalog,
		Upstream: upstream.Config{CAFile: caFile, Logger: logger},
		Content:  newContentFetcher(stores, logger),
		Lease:    lease,
		Logger:   logger,
		Progress: progress.show,
		AfterRun: rulesAfterSync(stores.Catalog, logger, stdout),
	})
	if err != nil {
		return err
	}
	run, err := s.Run(ctx, "manual", sel)
	progress.done()
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "synchronized: %d new updates, %d revised, %d expired; %d files stored (%d bytes) in %s\n",
		run.New, run.Revised, run.Expired, run.Files, run.Bytes, run.Finished.Sub(run.Started).Round(time.Millisecond))
	return nil
}

// optionalBool is a boolean flag that tells whether it was given.
type optionalBool struct{ value, set bool }

func (b *optionalBool) String() string   { return strconv.FormatBool(b.value) }
func (b *optionalBool) IsBoolFlag() bool { return true }
func (b *optionalBool) Set(v string) error {
	parsed, err := strconv.ParseBool(v)
	if err != nil {
		return fmt.Errorf("want true or false")
	}
	b.value, b.set = parsed, true
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
