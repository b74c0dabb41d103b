package testcluster

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// EnvHAProxy names an HAProxy binary to use instead of the one in PATH
// (or /usr/sbin/haproxy, where Debian's package puts it).
const EnvHAProxy = "WSUS_HAPROXY"

// HAProxyBinary returns the path of the haproxy program.
func HAProxyBinary() (string, error) {
	if p := os.Getenv(EnvHAProxy); p != "" {
		return p, nil
	}
	if p, err := exec.LookPath("haproxy"); err == nil {
		return p, nil
	}
	if fi, err := os.Stat("/usr/sbin/haproxy"); err == nil && fi.Mode()&0o111 != 0 {
		return "/usr/sbin/haproxy", nil
	}
	return "", errors.New("haproxy not installed")
}

// configTemplate is HAProxy's configuration (HAProxy 2.0 or later; Debian
// 12 ships 2.6). The choices, each for the cluster's acceptance (a replica
// killed mid-load costs at most the requests in flight on it):
//
//   - balance roundrobin per request (mode http), so every replica serves
//     scans, content and reports, whichever client connection they come on;
//   - option httpchk GET /readyz every 500 ms (inter, downinter), fall 2
//     rise 1: a dead replica is out after about 1 s, a restarted one is back
//     at its first good check; /readyz also fails when a replica cannot
//     reach the catalog or the blob store;
//   - retries 3 with option redispatch 1: a request that cannot connect
//     (the port of a killed replica refuses) is retried on another server
//     at once, before the health check has noticed;
//   - retry-on conn-failure empty-response response-timeout: besides
//     failed connects, a request whose server closed the connection
//     without a byte of response (what kill -9 does to the requests in
//     flight on it) is sent again to another server. That is safe for this
//     protocol: the SOAP calls are idempotent for the server (SyncUpdates
//     and GetExtendedUpdateInfo read; RegisterComputer and the cookie calls
//     overwrite; ReportEventBatch stores each event once per
//     EventInstanceID, soap/wusp/reporting.go) and content is read-only.
//     L7 retries need the whole request in one buffer, hence tune.bufsize
//     64 KiB (a delta SyncUpdates of a large cache, or a large
//     ReportEventBatch, is bigger and is then not retried). What cannot be
//     retried is a response already partly sent to the client, such as a
//     content range cut mid-body, and a request that was not the first on
//     its client connection and failed on a network error: HAProxy then
//     closes the client connection without an answer or a log line, for
//     the client to retry (haproxy/haproxy#1109, #3414). [I] A killed
//     replica's sockets holding unread request bytes are reset, not
//     closed, and a reset is such an error where a clean close is an
//     empty response; those are the requests the kill costs;
//   - an idle client connection is kept 120 s (timeout http-keep-alive,
//     http-request and client), as IIS keeps a real WSUS server's: longer
//     than a client's own idle timeout (Go's 90 s), so that HAProxy never
//     closes an idle connection just as the client sends on it, which the
//     client sees as EOF. With 10 s, a connection a client dialed but did
//     not use at once (Go's transport pools it) got a 408 and was closed
//     after 10 s, and about one report in a thousand failed so. The cost
//     is less protection against slow clients: a real deployment would
//     weigh that against its clients' idle timeouts;
//   - a stats socket, read for per-server counters (show stat), and with
//     Config.RequestLog a log line per request on stdout, besides
//     HAProxy's own lines (a server going DOWN or UP).
const configTemplate = `global
	maxconn 4000
	tune.bufsize 65536
	stats socket %[1]s mode 600 level admin
%[2]s
defaults
	mode http
	timeout connect 1s
	timeout client 120s
	timeout server 60s
	timeout http-request 120s
	timeout http-keep-alive 120s
	timeout check 2s
	retries 3
	option redispatch 1
	retry-on conn-failure empty-response response-timeout
	option dontlognull
%[3]s
frontend wsus
	bind %[4]s
	http-request capture req.hdr(SOAPAction) len 120
	default_backend replicas

backend replicas
	balance roundrobin
	option httpchk GET /readyz
	http-check expect status 200
	default-server inter 500ms fastinter 500ms downinter 500ms fall 2 rise 1
%[5]s`

// logFormat is the request log line (Config.RequestLog): server, status,
// method, URI, retries ("+" prefix: redispatched), termination state,
// bytes to the client and the SOAPAction in braces. Request parses it.
const logFormat = `%s %ST %HM %HU %rc %tsc %B %hr`

// haproxy is the running load balancer.
type haproxy struct {
	addr   string
	socket string
	log    string // stderr (alerts, warnings)
	cmd    *exec.Cmd
	done   chan struct{}

	mu   sync.Mutex
	reqs []Request
	bad  []string // log lines Request could not parse
}

// startHAProxy writes the configuration into dir and starts HAProxy in the
// foreground.
func startHAProxy(bin, dir string, replicas []*Replica, requestLog bool) (*haproxy, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	h := &haproxy{
		addr:   net.JoinHostPort("127.0.0.1", strconv.Itoa(port)),
		socket: filepath.Join(dir, "haproxy.sock"),
		log:    filepath.Join(dir, "haproxy.log"),
		done:   make(chan struct{}),
	}
	var globalLog, defaultsLog, servers string
	if requestLog {
		globalLog = "\tlog stdout format raw local0\n"
		defaultsLog = "\tlog global\n\tlog-format \"" + logFormat + "\"\n"
	}
	for _, r := range replicas {
		servers += fmt.Sprintf("\tserver %s %s check\n", r.Name, r.addr)
	}
	cfgPath := filepath.Join(dir, "haproxy.cfg")
	cfg := fmt.Sprintf(configTemplate, h.socket, globalLog, defaultsLog, h.addr, servers)
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		return nil, fmt.Errorf("haproxy: %w", err)
	}
	logFile, err := os.Create(h.log)
	if err != nil {
		return nil, fmt.Errorf("haproxy: %w", err)
	}
	defer logFile.Close()
	h.cmd = exec.Command(bin, "-db", "-f", cfgPath)
	h.cmd.Stderr = logFile
	h.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	stdout, err := h.cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("haproxy: %w", err)
	}
	if err := h.cmd.Start(); err != nil {
		return nil, fmt.Errorf("haproxy: start: %w", err)
	}
	read := make(chan struct{})
	go func() {
		defer close(read)
		h.readLog(stdout)
	}()
	go func() {
		<-read // Wait closes the pipe: read it all first
		h.cmd.Wait()
		close(h.done)
	}()
	deadline := time.Now().Add(readyTimeout)
	for {
		if _, err = h.stats(); err == nil {
			return h, nil
		}
		select {
		case <-h.done:
			out, _ := os.ReadFile(h.log)
			return nil, fmt.Errorf("haproxy exited: %v\n%s\nconfiguration:\n%s", h.cmd.ProcessState, out, cfg)
		default:
		}
		if time.Now().After(deadline) {
			h.stop()
			return nil, fmt.Errorf("haproxy: stats socket not answering within %v: %w", readyTimeout, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// stop stops HAProxy (SIGTERM: at once) and waits for it.
func (h *haproxy) stop() error {
	if err := h.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("haproxy: stop: %w", err)
	}
	select {
	case <-h.done:
		return nil
	case <-time.After(stopTimeout):
		h.cmd.Process.Kill()
		<-h.done
		return fmt.Errorf("haproxy: still running %v after SIGTERM", stopTimeout)
	}
}

// readLog collects the request log lines of r until it ends.
func (h *haproxy) readLog(r io.Reader) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		req, err := ParseRequest(sc.Text())
		h.mu.Lock()
		if err != nil {
			h.bad = append(h.bad, sc.Text())
		} else {
			h.reqs = append(h.reqs, req)
		}
		h.mu.Unlock()
	}
}

// unparsed returns the log lines ParseRequest could not read.
func (h *haproxy) unparsed() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.bad...)
}

// requests returns a copy of the requests logged so far.
func (h *haproxy) requests() []Request {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]Request(nil), h.reqs...)
}

// ServerStats are HAProxy's counters of one server (show stat).
type ServerStats struct {
	// Status is "UP", "DOWN", "UP 1/2" (going down), "DOWN 1/1" (going up) ...
	Status string
	// Current is the number of requests on the server now (scur); Total
	// the requests it was sent (stot, one per request in mode http).
	Current, Total int64
	// Responses2xx ... count responses by status class.
	Responses2xx, Responses4xx, Responses5xx int64
	// Retries and Redispatches count requests retried on this server and
	// moved away from it (wretr, wredis).
	Retries, Redispatches int64
	// ConnErrors and RespErrors count failed connects and responses
	// (econ, eresp).
	ConnErrors, RespErrors int64
}

// stats reads show stat from the stats socket: the servers of backend
// "replicas", by name.
func (h *haproxy) stats() (map[string]ServerStats, error) {
	conn, err := net.DialTimeout("unix", h.socket, 2*time.Second)
	if err != nil {
		return nil, fmt.Errorf("haproxy: stats: %w", err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(conn, "show stat\n"); err != nil {
		return nil, fmt.Errorf("haproxy: stats: %w", err)
	}
	raw, err := io.ReadAll(conn)
	if err != nil {
		return nil, fmt.Errorf("haproxy: stats: %w", err)
	}
	return parseStats(string(raw))
}

// parseStats reads show stat's CSV: a "# pxname,svname,..." header, then
// one line per proxy and server.
func parseStats(raw string) (map[string]ServerStats, error) {
	raw = strings.TrimPrefix(strings.TrimSpace(raw), "# ")
	rd := csv.NewReader(strings.NewReader(raw))
	rd.FieldsPerRecord = -1
	rows, err := rd.ReadAll()
	if err != nil || len(rows) < 1 {
		return nil, fmt.Errorf("haproxy: stats: unreadable show stat %q: %v", raw, err)
	}
	col := map[string]int{}
	for i, name := range rows[0] {
		col[name] = i
	}
	for _, name := range []string{"pxname", "svname", "status", "scur", "stot", "hrsp_2xx", "hrsp_4xx", "hrsp_5xx", "wretr", "wredis", "econ", "eresp"} {
		if _, ok := col[name]; !ok {
			return nil, fmt.Errorf("haproxy: stats: no column %s in %q", name, rows[0])
		}
	}
	out := map[string]ServerStats{}
	for _, row := range rows[1:] {
		get := func(name string) string {
			if i := col[name]; i < len(row) {
				return row[i]
			}
			return ""
		}
		if get("pxname") != "replicas" || get("svname") == "BACKEND" {
			continue
		}
		n := func(name string) int64 {
			v, _ := strconv.ParseInt(get(name), 10, 64) // empty: not counted, 0
			return v
		}
		out[get("svname")] = ServerStats{
			Status: get("status"), Current: n("scur"), Total: n("stot"),
			Responses2xx: n("hrsp_2xx"), Responses4xx: n("hrsp_4xx"), Responses5xx: n("hrsp_5xx"),
			Retries: n("wretr"), Redispatches: n("wredis"), ConnErrors: n("econ"), RespErrors: n("eresp"),
		}
	}
	return out, nil
}

// Request is one request HAProxy forwarded, from its log line.
type Request struct {
	// Server is the replica that answered ("r1" ...), "<NOSRV>" for none.
	Server string
	// Status is the HTTP status the client got (-1: none, the connection
	// was cut).
	Status int
	Method string
	Path   string
	// Retries is the number of retries; Redispatched says the request
	// was moved to another server.
	Retries      int
	Redispatched bool
	// Termination is HAProxy's termination state ("----" for a normal
	// end; "SD" first means the server aborted during the data phase).
	Termination string
	Bytes       int64
	// SOAPAction is the request's SOAPAction header, without quotes (the
	// log writes them as #22).
	SOAPAction string
}

// Kinds of request, as Request.Kind names them.
const (
	KindScan    = "scan"    // SyncUpdates
	KindClient  = "client"  // the other client web service calls
	KindAuth    = "auth"    // SimpleAuth
	KindReport  = "report"  // ReportEventBatch
	KindContent = "content" // /Content/
	KindOther   = "other"
)

// Kind classifies the request by path and SOAPAction.
func (r Request) Kind() string {
	p := strings.ToLower(r.Path)
	switch {
	case strings.HasPrefix(p, "/clientwebservice/") && strings.HasSuffix(r.SOAPAction, "/SyncUpdates"):
		return KindScan
	case strings.HasPrefix(p, "/clientwebservice/"):
		return KindClient
	case strings.HasPrefix(p, "/simpleauthwebservice/"):
		return KindAuth
	case strings.HasPrefix(p, "/reportingwebservice/"):
		return KindReport
	case strings.HasPrefix(p, "/content/"):
		return KindContent
	}
	return KindOther
}

// ParseRequest reads one line of logFormat.
func ParseRequest(line string) (Request, error) {
	f := strings.Fields(line)
	if len(f) == 7 { // a request HAProxy could not read has no captures
		f = append(f, "{}")
	}
	if len(f) != 8 || !strings.HasPrefix(f[7], "{") || !strings.HasSuffix(f[7], "}") {
		return Request{}, fmt.Errorf("haproxy: log line %q: not %q", line, logFormat)
	}
	status, err1 := strconv.Atoi(f[1])
	retries, err2 := strconv.Atoi(strings.TrimPrefix(f[4], "+"))
	bytes, err3 := strconv.ParseInt(f[6], 10, 64)
	if err := errors.Join(err1, err2, err3); err != nil {
		return Request{}, fmt.Errorf("haproxy: log line %q: %w", line, err)
	}
	path, _, _ := strings.Cut(f[3], "?")
	return Request{
		Server: f[0], Status: status, Method: f[2], Path: path,
		Retries: retries, Redispatched: strings.HasPrefix(f[4], "+"),
		Termination: f[5], Bytes: bytes,
		SOAPAction: strings.Trim(strings.ReplaceAll(strings.TrimSuffix(strings.TrimPrefix(f[7], "{"), "}"), "#22", `"`), `"`),
	}, nil
}
