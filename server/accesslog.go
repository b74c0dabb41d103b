package server

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"
	"unicode/utf8"

	"wsus/internal/reqinfo"
)

// The access log: one line per request answered, at INFO, with the message
// AccessLogMessage and these attributes (those in brackets only when set):
//
//	method      the request's method
//	path        the request's path, without the query string (it may carry
//	            tokens), cut to maxLoggedPath bytes
//	kind        soap, content, admin, health, metrics or other (reqinfo.Kind)
//	[op]        the SOAP operation (SyncUpdates, GetCookie, ...)
//	[client_id] the client's computer ID, when a handler learned it
//	status      the HTTP status answered (0: none, the handler aborted first)
//	[fault]     the WSUS error code of a SOAP fault (InvalidCookie, ...)
//	[shed]      true when refused for overload (ServerBusy from admission)
//	[range]     true when the request had a Range header
//	bytes       body bytes written
//	duration    milliseconds from the request's arrival to its handler's
//	            return, as a number
//	[aborted]   true when the handler aborted the answer (a body cut short)
//
// request_id is added by the server's log handler (internal/requestid), as
// on every line logged for a request. No header is logged (Authorization
// never is).
//
// With Config.AccessLog "" or "on", the lines of successful content
// requests (2xx and 304 under /Content/, the bulk of the traffic: a
// download is many ranges) are rate limited by a token bucket of
// accessLogBurst lines refilled at accessLogRate a second, shared by every
// listener of the process; the others (errors, 404s of content included,
// and every other path) are always written. The lines not written are
// counted, and a line with the message AccessLogSkippedMessage and the
// attributes not_logged (the count) and period (since when) says so once
// accessLogSummaryEvery has passed, at the next request, and when the
// server shuts down.
const (
	AccessLogMessage        = "access"
	AccessLogSkippedMessage = "access log: successful content requests not logged"
)

// Rate limit of successful content lines, and how often the count of the
// lines skipped is written.
const (
	accessLogRate         = 10 // lines a second
	accessLogBurst        = 50
	accessLogSummaryEvery = time.Minute
)

// maxLoggedPath bounds the path written: a client may send a path of up
// to the header limit.
const maxLoggedPath = 512

// accessLog writes the access log of a process.
type accessLog struct {
	log *slog.Logger
	// all writes every line, unlimited (Config.AccessLog "all").
	all bool
	now func() time.Time

	mu sync.Mutex
	// tokens is the bucket's content at filled.
	tokens float64
	filled time.Time
	// skipped lines were not written since skippedSince.
	skipped      int64
	skippedSince time.Time
}

// newAccessLog returns the access log mode selects (Config.AccessLog), nil
// for none.
func newAccessLog(mode string, logger *slog.Logger) (*accessLog, error) {
	a := &accessLog{log: logger, now: time.Now, tokens: accessLogBurst}
	switch mode {
	case "", AccessLogOn:
	case AccessLogAll:
		a.all = true
	case AccessLogOff:
		return nil, nil
	default:
		return nil, fmt.Errorf("server: access log %q: want %q, %q or %q", mode, AccessLogOn, AccessLogAll, AccessLogOff)
	}
	a.filled = a.now()
	return a, nil
}

// limited reports whether rec's line is subject to the rate limit: a
// successful content request.
func limited(rec *reqinfo.Record) bool {
	return rec.Kind == reqinfo.KindContent &&
		(rec.Status >= 200 && rec.Status < 300 || rec.Status == 304)
}

// request writes rec's line, unless the rate limit skips it. ctx is the
// request's (its request ID is logged from it).
func (a *accessLog) request(ctx context.Context, rec *reqinfo.Record, aborted bool) {
	if !a.log.Enabled(ctx, slog.LevelInfo) {
		return
	}
	write, skipped, since := a.admit(!a.all && limited(rec))
	if skipped > 0 {
		a.summary(skipped, since)
	}
	if !write {
		return
	}
	// At most 13 attributes, in one slice.
	attrs := make([]slog.Attr, 0, 13)
	attrs = append(attrs,
		slog.String("method", rec.Method),
		slog.String("path", cutPath(rec.Path)),
		slog.String("kind", string(rec.Kind)))
	if rec.Operation != "" {
		attrs = append(attrs, slog.String("op", rec.Operation))
	}
	if rec.ClientID != "" {
		attrs = append(attrs, slog.String("client_id", rec.ClientID))
	}
	attrs = append(attrs, slog.Int("status", rec.Status))
	if rec.FaultCode != "" {
		attrs = append(attrs, slog.String("fault", rec.FaultCode))
	}
	if rec.Shed {
		attrs = append(attrs, slog.Bool("shed", true))
	}
	if rec.Range {
		attrs = append(attrs, slog.Bool("range", true))
	}
	attrs = append(attrs,
		slog.Int64("bytes", rec.Bytes),
		slog.Float64("duration", float64(rec.Duration.Microseconds())/1000))
	if aborted {
		attrs = append(attrs, slog.Bool("aborted", true))
	}
	a.log.LogAttrs(ctx, slog.LevelInfo, AccessLogMessage, attrs...)
}

// admit takes a token for a rate-limited line (write reports whether there
// was one) and returns the count of lines skipped that is due to be
// reported now (0 when none is), with the start of its period.
func (a *accessLog) admit(isLimited bool) (write bool, skipped int64, since time.Time) {
	now := a.now()
	a.mu.Lock()
	defer a.mu.Unlock()
	write = true
	if isLimited {
		a.tokens = min(accessLogBurst, a.tokens+now.Sub(a.filled).Seconds()*accessLogRate)
		a.filled = now
		if a.tokens >= 1 {
			a.tokens--
		} else {
			write = false
			if a.skipped == 0 {
				a.skippedSince = now
			}
			a.skipped++
		}
	}
	if a.skipped > 0 && now.Sub(a.skippedSince) >= accessLogSummaryEvery {
		skipped, since = a.skipped, a.skippedSince
		a.skipped = 0
	}
	return write, skipped, since
}

// flush writes the count of lines skipped not reported yet (at shutdown).
func (a *accessLog) flush() {
	if a == nil {
		return
	}
	a.mu.Lock()
	skipped, since := a.skipped, a.skippedSince
	a.skipped = 0
	a.mu.Unlock()
	if skipped > 0 {
		a.summary(skipped, since)
	}
}

// summary writes the count of lines skipped since since. It is no
// request's line: logged without a request's context, it names no request
// ID.
func (a *accessLog) summary(skipped int64, since time.Time) {
	a.log.LogAttrs(context.Background(), slog.LevelInfo, AccessLogSkippedMessage,
		slog.Int64("not_logged", skipped),
		slog.String("period", a.now().Sub(since).Round(time.Millisecond).String()))
}

// cutPath returns p cut to maxLoggedPath bytes at a character boundary,
// marked with "..." when cut.
func cutPath(p string) string {
	if len(p) <= maxLoggedPath {
		return p
	}
	n := maxLoggedPath
	for n > 0 && !utf8.RuneStart(p[n]) {
		n--
	}
	return p[:n] + "..."
}
