// Command steadybench is the Go half of scripts/bench-steady.sh: it records
// a steady-state (delta) SyncUpdates request from a running server, and
// serves the recorded answer from a bare net/http handler, so that wrk can
// compare the two in the same run.
//
//	steadybench record -server URL -out DIR [-valid-for 5m]
//	steadybench bare -listen 127.0.0.1:PORT -dir DIR
//
// record drives one simulated Windows Update Agent (package clientsim, the
// native agent's request bodies) through a recording http.RoundTripper:
// GetConfig, GetAuthorizationCookie, GetCookie, RegisterComputer and the
// SyncUpdates rounds of a first scan, then later scans (MS-WUSP.md §3.2:
// one software SyncUpdates carrying every cached id, with the cookie of the
// previous answer) until a scan's software SyncUpdates answer is HTTP 200
// with no NewUpdates, no ChangedUpdates and Truncated false. That exchange
// is the recorded delta; record writes into DIR:
//
//	request.xml     the request body, byte for byte
//	soapaction      the SOAPAction header value, quotes included
//	response.xml    the server's answer, byte for byte
//	response.header the answer's headers as "Name: value" lines (no Date)
//
// The server keeps the cookie's expiry across SyncUpdates (its NewCookie
// carries the Expires of GetCookie, soap/wusp CookieLifetime, one hour), so
// record fails unless the recorded cookie stays valid for -valid-for more.
//
// bare answers every POST with the recorded headers and response.xml (the
// request body is read and discarded, as any SOAP handler must), and
// anything else with 405.
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/textproto"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/beevik/etree"

	"wsus/clientsim"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

const usage = `usage:
  steadybench record -server URL -out DIR [-valid-for 5m] [-max-scans 5]
  steadybench bare -listen 127.0.0.1:PORT -dir DIR
`

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	var err error
	switch args[0] {
	case "record":
		err = record(ctx, args[1:], stdout, stderr)
	case "bare":
		err = bare(ctx, args[1:], stderr)
	default:
		fmt.Fprint(stderr, usage)
		return 2
	}
	if errors.Is(err, flag.ErrHelp) {
		return 2
	}
	if err != nil {
		fmt.Fprintln(stderr, "steadybench:", err)
		return 1
	}
	return 0
}

// Files written by record and read by bare.
const (
	requestFile        = "request.xml"
	soapActionFile     = "soapaction"
	responseFile       = "response.xml"
	responseHeaderFile = "response.header"
)

// exchange is one recorded HTTP request and its answer.
type exchange struct {
	soapAction string
	request    []byte
	status     int
	header     http.Header
	response   []byte
}

// recorder is an http.RoundTripper that keeps every exchange it carries.
type recorder struct {
	next http.RoundTripper

	mu        sync.Mutex
	exchanges []exchange
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil {
		var err error
		body, err = io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("record: read request body: %w", err)
		}
		req = req.Clone(req.Context())
		req.Body = io.NopCloser(bytes.NewReader(body))
		req.ContentLength = int64(len(body))
	}
	resp, err := r.next.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	answer, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, fmt.Errorf("record: read answer: %w", err)
	}
	resp.Body = io.NopCloser(bytes.NewReader(answer))
	r.mu.Lock()
	r.exchanges = append(r.exchanges, exchange{
		soapAction: req.Header.Get("SOAPAction"), request: body,
		status: resp.StatusCode, header: resp.Header.Clone(), response: answer,
	})
	r.mu.Unlock()
	return resp, nil
}

// take returns the exchanges recorded since the last take.
func (r *recorder) take() []exchange {
	r.mu.Lock()
	defer r.mu.Unlock()
	x := r.exchanges
	r.exchanges = nil
	return x
}

const syncAction = `"http://www.microsoft.com/SoftwareDistribution/Server/ClientWebService/SyncUpdates"`

func record(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("record", flag.ContinueOnError)
	fs.SetOutput(stderr)
	server := fs.String("server", "", "base URL of the server (required)")
	out := fs.String("out", "", "folder to write the recorded exchange into (required)")
	validFor := fs.Duration("valid-for", 5*time.Minute, "the recorded cookie must stay valid at least this long")
	maxScans := fs.Int("max-scans", 5, "give up after this many scans without a delta answer")
	maxNonLeaf := fs.Int("max-installed-non-leaf", 0, "most non-leaf revisions the client reports installed (clientsim.Config.MaxInstalledNonLeaf; a real WSUS refuses more than 400); 0: no bound")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *server == "" || *out == "" || fs.NArg() > 0 || *maxScans < 2 {
		fs.Usage()
		return flag.ErrHelp
	}

	t := http.DefaultTransport.(*http.Transport).Clone()
	t.DisableCompression = true
	rec := &recorder{next: t}
	// Identity: the recorder keeps the answers as sent, and they are read
	// as XML (and served as they are by the bare handler).
	agent, err := clientsim.NewAgent(clientsim.Config{ServerURL: *server, Identity: true, MaxInstalledNonLeaf: *maxNonLeaf, HTTPClient: &http.Client{Transport: rec, Timeout: time.Minute}})
	if err != nil {
		return err
	}
	defer t.CloseIdleConnections()

	for scan := 1; scan <= *maxScans; scan++ {
		res, err := agent.Scan(ctx, clientsim.ScanOptions{})
		if err != nil {
			return fmt.Errorf("record: scan %d: %w", scan, err)
		}
		var software []exchange
		for _, x := range rec.take() {
			if x.soapAction == syncAction && bytes.Contains(x.request, []byte("<SkipSoftwareSync>false</SkipSoftwareSync>")) {
				software = append(software, x)
			}
		}
		installed, cached, drivers := agent.CacheSize()
		fmt.Fprintf(stdout, "scan %d: %d software SyncUpdates, %d new and %d changed updates; cache: %d installed non-leaf, %d other, %d drivers\n",
			scan, len(software), res.NewUpdates, res.ChangedUpdates, installed, cached, drivers)
		// The first scan fills the cache; a later scan's single software
		// round, answered with nothing new, is the steady state.
		if scan == 1 || len(software) != 1 {
			continue
		}
		x := software[0]
		if err := checkDelta(x); err != nil {
			fmt.Fprintf(stdout, "scan %d: not a delta yet: %v\n", scan, err)
			continue
		}
		expires, err := cookieExpiration(x.request)
		if err != nil {
			return err
		}
		if left := time.Until(expires); left < *validFor {
			return fmt.Errorf("record: the recorded cookie expires in %s, sooner than -valid-for %s", left.Round(time.Second), *validFor)
		}
		if err := save(*out, x); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "recorded a delta SyncUpdates: request %d bytes (%d cached ids), answer %d bytes; cookie valid until %s\n",
			len(x.request), installed+cached, len(x.response), expires.UTC().Format(time.RFC3339))
		return nil
	}
	return fmt.Errorf("record: no delta SyncUpdates answer after %d scans", *maxScans)
}

// checkDelta reports why x is not a steady-state SyncUpdates exchange: an
// HTTP 200 SyncUpdatesResult without UpdateInfo in NewUpdates or
// ChangedUpdates, and not truncated.
func checkDelta(x exchange) error {
	if x.status != http.StatusOK {
		return fmt.Errorf("HTTP %d", x.status)
	}
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(x.response); err != nil {
		return fmt.Errorf("answer: %w", err)
	}
	res := doc.FindElement("//SyncUpdatesResult")
	if res == nil {
		return errors.New("answer without SyncUpdatesResult")
	}
	for _, list := range []string{"NewUpdates", "ChangedUpdates"} {
		if n := len(res.FindElements(list + "/UpdateInfo")); n > 0 {
			return fmt.Errorf("%d %s", n, list)
		}
	}
	if tr := res.SelectElement("Truncated"); tr != nil && strings.TrimSpace(tr.Text()) == "true" {
		return errors.New("truncated")
	}
	return nil
}

// cookieExpiration returns the clear-text Expiration of a request's cookie.
func cookieExpiration(request []byte) (time.Time, error) {
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(request); err != nil {
		return time.Time{}, fmt.Errorf("record: request: %w", err)
	}
	e := doc.FindElement("//cookie/Expiration")
	if e == nil {
		return time.Time{}, errors.New("record: request without cookie Expiration")
	}
	t, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(e.Text()))
	if err != nil {
		return time.Time{}, fmt.Errorf("record: cookie Expiration: %w", err)
	}
	return t, nil
}

// save writes the files of x into dir.
func save(dir string, x exchange) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("record: %w", err)
	}
	var hdr strings.Builder
	for _, k := range slices.Sorted(maps.Keys(x.header)) {
		if k == "Date" {
			continue // net/http writes its own
		}
		for _, v := range x.header[k] {
			fmt.Fprintf(&hdr, "%s: %s\n", k, v)
		}
	}
	files := map[string][]byte{
		requestFile:        x.request,
		soapActionFile:     []byte(x.soapAction + "\n"),
		responseFile:       x.response,
		responseHeaderFile: []byte(hdr.String()),
	}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			return fmt.Errorf("record: %w", err)
		}
	}
	return nil
}

func bare(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("bare", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", "", "address to serve on, e.g. 127.0.0.1:8531 (required)")
	dir := fs.String("dir", "", "folder written by record (required)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *listen == "" || *dir == "" || fs.NArg() > 0 {
		fs.Usage()
		return flag.ErrHelp
	}
	body, err := os.ReadFile(filepath.Join(*dir, responseFile))
	if err != nil {
		return fmt.Errorf("bare: %w", err)
	}
	header, err := readHeader(filepath.Join(*dir, responseHeaderFile))
	if err != nil {
		return err
	}
	header.Set("Content-Length", fmt.Sprint(len(body)))

	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			http.Error(w, "POST only", http.StatusMethodNotAllowed)
			return
		}
		if _, err := io.Copy(io.Discard, r.Body); err != nil {
			return
		}
		for k, v := range header {
			w.Header()[k] = v
		}
		w.WriteHeader(http.StatusOK)
		w.Write(body)
	})
	srv := &http.Server{Addr: *listen, Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		srv.Shutdown(shutdown)
	}()
	if err := srv.ListenAndServe(); !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("bare: %w", err)
	}
	return nil
}

// readHeader reads "Name: value" lines written by save.
func readHeader(path string) (http.Header, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("bare: %w", err)
	}
	h := http.Header{}
	for line := range strings.Lines(string(b)) {
		k, v, ok := strings.Cut(strings.TrimRight(line, "\r\n"), ": ")
		if !ok {
			return nil, fmt.Errorf("bare: %s: bad header line %q", path, line)
		}
		h.Add(textproto.CanonicalMIMEHeaderKey(k), v)
	}
	return h, nil
}
