package e2e

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"wsus/clientsim/load"
	"wsus/internal/testcluster"
)

// Groups of the cluster scenario: the load's clients are in fleetGroup, for
// which the demo update is approved before the load; probeGroup gets its
// approval through replica 1 in the middle of the load, and probe clients
// scanning the other replicas directly must see it.
const (
	fleetGroup = "Fleet"
	probeGroup = "Probe"
)

// propagationBound bounds the wait for an approval made on replica 1 to
// reach scans on the others: the snapshot max age is 1 s (README, serve
// flags), so seconds. The test polls up to it; it asserts what the scans
// see, not how fast.
const propagationBound = 10 * time.Second

// clusterRun is what one run of the scenario does.
type clusterRun struct {
	replicas int
	clients  int
	duration time.Duration
	mode     load.Mode
	install  bool // downloads, installs and reports (clientsim load --install)
	kill     bool // kill -9 the last replica mid-load, then restart it
	probe    bool // the approval through replica 1, seen on the others (polled up to propagationBound, or this when set)
	probeFor time.Duration
	log      bool // HAProxy's per-request log (costs CPU)
	procs    int  // GOMAXPROCS of each replica, 0 for Go's default
}

// clusterResult is what it measured.
type clusterResult struct {
	report load.Report
	// propagation is, per replica but the first, how long after the
	// approval on replica 1 a probe scan on it first saw the update.
	propagation map[string]time.Duration
	// killed is the replica killed; inFlight the requests in flight on it
	// at the kill, as HAProxy counted them: the more of the requests it had
	// on it just before and the responses it lost on it; unanswered those
	// and the requests HAProxy sent it after the kill, before it saw it
	// DOWN (all of them retried or refused without an answer); downAfter how
	// long after the kill HAProxy marked it DOWN; servedAfterRestart the
	// requests it was sent between its return (UP) and the end of the load.
	killed             string
	inFlight           int64
	unanswered         int64
	downAfter          time.Duration
	servedAfterRestart int64
	// acked is the acknowledged events checked, per client; lost lists the
	// acknowledgements the store does not reflect.
	ackedClients, ackedEvents, ackedInstalls int
	lost                                     []string
	// byServer counts the 2xx responses of each replica by kind
	// (testcluster.Kind*), from HAProxy's request log.
	byServer map[string]map[string]int
	// cut are the requests HAProxy logged as ended without a full response
	// (status -1 or 5xx, or an abnormal termination state); retried counts
	// those it retried or moved to another replica and answered.
	cut     []testcluster.Request
	retried int
	// events are HAProxy's output lines that are not request lines: its
	// servers going DOWN and UP.
	events []string
	// stats are HAProxy's server counters at the end; cpu the CPU time of
	// each process during the load.
	stats map[string]testcluster.ServerStats
	cpu   map[string]time.Duration
	// machine is the whole machine's CPU time during the load, every
	// process's (PostgreSQL, versitygw, whatever else runs) included.
	machine machineCPU
}

// machineCPU is CPU time summed over all cores: busy (neither idle nor
// waiting for I/O) out of total.
type machineCPU struct{ busy, total time.Duration }

// readMachineCPU reads the machine's CPU time so far from /proc/stat's
// "cpu" line (in USER_HZ, 100 a second on Linux).
func readMachineCPU() (machineCPU, error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return machineCPU{}, err
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 6 || f[0] != "cpu" {
		return machineCPU{}, fmt.Errorf("/proc/stat: first line %q", line)
	}
	var m machineCPU
	for i, v := range f[1:] {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return machineCPU{}, fmt.Errorf("/proc/stat: %q: %w", line, err)
		}
		d := time.Duration(n) * time.Second / 100
		m.total += d
		if i != 3 && i != 4 { // idle, iowait
			m.busy += d
		}
	}
	return m, nil
}

// runCluster starts the cluster, loads the demo catalog, runs clientsim
// load through HAProxy as run says and returns what it measured. It fails
// tb only when something cannot run; the caller asserts.
func runCluster(tb testing.TB, run clusterRun) clusterResult {
	root := moduleRoot(tb)
	bin := buildBinaries(tb, root)
	c := testcluster.Start(tb, testcluster.Config{Bin: bin, Replicas: run.replicas, RequestLog: run.log, GOMAXPROCS: run.procs})
	ctx, cancel := context.WithTimeout(context.Background(), run.duration+5*time.Minute)
	defer cancel()
	tool := func(name string, args ...string) string {
		tb.Helper()
		cmd := c.Command(ctx, name, args...)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			tb.Fatalf("%s %s: %v\n%s%s", name, strings.Join(args, " "), err, stdout.String(), stderr.String())
		}
		return stdout.String()
	}

	// The demo catalog through replica 1's process environment, unapproved;
	// the update approved for the fleet's group through replica 1's admin API.
	catalogDir := filepath.Join(root, "testdata", "catalog")
	tool("wsusd", "import", "--data", tb.TempDir(), filepath.Join(catalogDir, "microsoft"), filepath.Join(catalogDir, "local"))
	first := c.Replicas[0]
	tool("wsusctl", "--server", first.URL, "create-group", fleetGroup)
	tool("wsusctl", "--server", first.URL, "create-group", probeGroup)
	tool("wsusctl", "--server", first.URL, "approve", demoUpdate, "--group", fleetGroup)
	offered := func(r *testcluster.Replica, group string) int {
		tb.Helper()
		out := tool("clientsim", "scan", "--server", r.URL, "--target-group", group)
		for line := range strings.Lines(out) {
			if v, ok := strings.CutPrefix(line, "updates offered:"); ok {
				n, err := strconv.Atoi(strings.TrimSpace(v))
				if err != nil {
					tb.Fatalf("clientsim scan: %q", line)
				}
				return n
			}
		}
		tb.Fatalf("clientsim scan printed no offered count:\n%s", out)
		return 0
	}
	// Every replica offers the fleet its update before the load starts
	// (each serves scans from a snapshot up to 1 s old), and nothing to
	// the probe's group yet.
	for _, r := range c.Replicas {
		for deadline := time.Now().Add(propagationBound); offered(r, fleetGroup) != 1; time.Sleep(100 * time.Millisecond) {
			if time.Now().After(deadline) {
				tb.Fatalf("%s: the approval for %s is not offered after %v", r.Name, fleetGroup, propagationBound)
			}
		}
		if run.probe {
			if n := offered(r, probeGroup); n != 0 {
				tb.Fatalf("before the approval, %s offers %d updates to %s", r.Name, n, probeGroup)
			}
		}
	}

	res := clusterResult{propagation: map[string]time.Duration{}, cpu: map[string]time.Duration{}}
	pids := map[string]int{"haproxy": c.HAProxyPID()}
	for _, r := range c.Replicas {
		pids[r.Name] = r.PID()
	}
	cpuBefore := map[string]time.Duration{}
	for name, pid := range pids {
		cpuBefore[name], _ = load.ReadProcCPU(pid)
	}
	machineBefore, machineErr := readMachineCPU()

	dir := tb.TempDir()
	acksPath := filepath.Join(dir, "acks.jsonl")
	args := []string{"load", "--server", c.URL, "--clients", strconv.Itoa(run.clients), "--mode", string(run.mode),
		"--duration", run.duration.String(), "--target-group", fleetGroup, "--json", "--acks", acksPath,
		"--allow-errors", "--request-timeout", "30s"}
	if run.install {
		args = append(args, "--install")
	}
	loadCmd := c.Command(ctx, "clientsim", args...)
	var loadOut bytes.Buffer
	loadCmd.Stdout = &loadOut
	loadErr, err := loadCmd.StderrPipe()
	if err != nil {
		tb.Fatal(err)
	}
	if err := loadCmd.Start(); err != nil {
		tb.Fatal(err)
	}
	// The delta phase starts, or in mode both the load is going, once
	// clientsim says so; its stderr is kept for failure messages.
	started := make(chan struct{})
	var loadLog lockedBuffer
	go func() {
		sc := bufio.NewScanner(loadErr)
		said := false
		for sc.Scan() {
			fmt.Fprintln(&loadLog, sc.Text())
			if !said && (run.mode != load.ModeDelta || strings.Contains(sc.Text(), "delta phase starts")) {
				said = true
				close(started)
			}
		}
		if !said {
			close(started)
		}
	}()
	// Should tb fail before the load ends, the cancelled ctx kills it.
	loadDone := make(chan error, 1)
	go func() { loadDone <- loadCmd.Wait() }()
	<-started
	phaseStart := time.Now()

	if run.probe {
		// Approved through replica 1 while the load runs: every other
		// replica's clients see it within seconds.
		tool("wsusctl", "--server", first.URL, "approve", demoUpdate, "--group", probeGroup)
		approved := time.Now()
		bound := cmp.Or(run.probeFor, propagationBound)
		for _, r := range c.Replicas[1:] {
			for offered(r, probeGroup) != 1 {
				if time.Since(approved) > bound {
					tb.Fatalf("%s: the approval made on %s is not offered after %v", r.Name, first.Name, bound)
				}
				time.Sleep(100 * time.Millisecond)
			}
			res.propagation[r.Name] = time.Since(approved)
		}
	}

	var upTotal int64 // the restarted replica's requests when it was back UP
	if run.kill {
		victim := c.Replicas[len(c.Replicas)-1]
		res.killed = victim.Name
		// A third into the measured phase: kill, wait for HAProxy to see
		// it down, let the others carry the load a while, restart.
		sleepUntil(phaseStart.Add(run.duration / 3))
		before, err := c.Stats()
		if err != nil {
			tb.Fatal(err)
		}
		killedAt := time.Now()
		c.Kill(victim)
		down := c.WaitState(victim, "DOWN")
		res.downAfter = time.Since(killedAt)
		// In flight on it: what HAProxy had on it just before, or the
		// responses it lost on it (eresp), whichever is more. Unanswered:
		// those and every request HAProxy sent it until it saw it DOWN,
		// which got no answer from it (HAProxy retried them elsewhere, or
		// closed the client's connection for the client to retry).
		b := before[victim.Name]
		res.inFlight = max(b.Current, down.RespErrors-b.RespErrors)
		res.unanswered = b.Current + (down.Total - b.Total) - (down.Responses2xx + down.Responses4xx + down.Responses5xx - b.Responses2xx - b.Responses4xx - b.Responses5xx)
		sleepUntil(phaseStart.Add(run.duration / 2))
		c.Restart(victim)
		pids[victim.Name+" (restarted)"] = victim.PID()
		up := c.WaitState(victim, "UP")
		select {
		case err := <-loadDone:
			tb.Fatalf("the load ended (%v) before %s was back: run it longer\n%s", err, victim.Name, loadLog.String())
		default:
		}
		upTotal = up.Total
	}

	if err := <-loadDone; err != nil {
		tb.Fatalf("clientsim load: %v\n%s", err, loadLog.String())
	}

	if res.stats, err = c.Stats(); err != nil {
		tb.Fatal(err)
	}
	if run.kill {
		res.servedAfterRestart = res.stats[res.killed].Total - upTotal
	}
	if err := json.Unmarshal(loadOut.Bytes(), &res.report); err != nil {
		tb.Fatalf("clientsim load --json: %v\n%s", err, loadOut.String())
	}
	for name, pid := range pids {
		if cpu, err := load.ReadProcCPU(pid); err == nil {
			res.cpu[name] = cpu - cpuBefore[name]
		}
	}
	if after, err := readMachineCPU(); err == nil && machineErr == nil {
		res.machine = machineCPU{busy: after.busy - machineBefore.busy, total: after.total - machineBefore.total}
	}
	if run.log {
		res.byServer = map[string]map[string]int{}
		for _, r := range c.Requests() {
			if r.Status >= 200 && r.Status < 300 {
				if res.byServer[r.Server] == nil {
					res.byServer[r.Server] = map[string]int{}
				}
				res.byServer[r.Server][r.Kind()]++
			}
			if r.Status < 0 || r.Status >= 500 || r.Termination != "----" {
				res.cut = append(res.cut, r)
			}
			if r.Retries > 0 || r.Redispatched {
				res.retried++
			}
		}
	}
	res.events = c.Unparsed()
	checkAcks(tb, c, acksPath, &res)
	return res
}

// checkAcks checks every report the load's clients saw acknowledged
// against the store, through the admin API: each computer's stored events
// (GET /api/v1/computers/{id}: "events", counted once per EventInstanceID)
// are at least the distinct events acknowledged to it, and each update it
// was acknowledged to have installed (event 183) shows Installed.
func checkAcks(tb testing.TB, c *testcluster.Cluster, path string, res *clusterResult) {
	tb.Helper()
	f, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	events := map[string]map[string]bool{}    // client → instance IDs
	installed := map[string]map[string]bool{} // client → update IDs
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var a load.Ack
		if err := json.Unmarshal(sc.Bytes(), &a); err != nil {
			tb.Fatalf("%s: %v", path, err)
		}
		if events[a.ClientID] == nil {
			events[a.ClientID], installed[a.ClientID] = map[string]bool{}, map[string]bool{}
		}
		for _, e := range a.Events {
			events[a.ClientID][e.InstanceID] = true
			if e.EventID == 183 {
				installed[a.ClientID][e.UpdateID] = true
			}
		}
	}
	if err := sc.Err(); err != nil {
		tb.Fatal(err)
	}
	client := &http.Client{Timeout: 30 * time.Second}
	for id, evs := range events {
		req, err := http.NewRequest(http.MethodGet, c.URL+"/api/v1/computers/"+id, nil)
		if err != nil {
			tb.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+c.AdminToken)
		resp, err := client.Do(req)
		if err != nil {
			tb.Fatal(err)
		}
		var d struct {
			Events  int `json:"events"`
			Updates []struct {
				UpdateID string `json:"update_id"`
				State    string `json:"state"`
			} `json:"updates"`
		}
		err = json.NewDecoder(resp.Body).Decode(&d)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || err != nil {
			res.lost = append(res.lost, fmt.Sprintf("computer %s: HTTP %d, %v", id, resp.StatusCode, err))
			continue
		}
		res.ackedClients++
		res.ackedEvents += len(evs)
		if d.Events < len(evs) {
			res.lost = append(res.lost, fmt.Sprintf("computer %s: %d events acknowledged, %d stored", id, len(evs), d.Events))
		}
		for u := range installed[id] {
			res.ackedInstalls++
			i := slices.IndexFunc(d.Updates, func(s struct {
				UpdateID string `json:"update_id"`
				State    string `json:"state"`
			}) bool {
				return strings.EqualFold(s.UpdateID, u)
			})
			if i < 0 || d.Updates[i].State != "Installed" {
				res.lost = append(res.lost, fmt.Sprintf("computer %s: install of %s acknowledged, store says %+v", id, u, d.Updates))
			}
		}
	}
}

// sleepUntil sleeps until t (at once when t has passed).
func sleepUntil(t time.Time) { time.Sleep(time.Until(t)) }

// The scale-out acceptance of issue 12 at small size: PostgreSQL, versitygw,
// three wsusd replicas and HAProxy on loopback; clientsim load through
// HAProxy scans, downloads, installs and reports; every replica serves
// scans, content and reports; an approval made on replica 1 reaches the
// clients of replicas 2 and 3; replica 3 killed (SIGKILL) mid-load costs no
// more failed scans than the requests in flight on it and no acknowledged
// report, and once restarted it serves again.
func TestCluster(t *testing.T) {
	const clients = 12
	res := runCluster(t, clusterRun{
		replicas: 3, clients: clients, duration: 12 * time.Second, mode: load.ModeBoth,
		install: true, kill: true, probe: true, log: true,
	})
	rep := res.report
	t.Logf("scans: %d first, %d delta (%.0f/s), %d failed %v; acknowledged %+v; propagation %v; killed %s with %d in flight, %d unanswered, DOWN after %v, %d requests after restart; %d retried, cut %v",
		rep.FirstScan.Scans, rep.Delta.Scans, rep.Delta.ScansPerSecond, rep.Failed(), rep.Errors, rep.Acknowledged, res.propagation,
		res.killed, res.inFlight, res.unanswered, res.downAfter, res.servedAfterRestart, res.retried, res.cut)

	if rep.FirstScan.Scans < clients || rep.Delta.Scans == 0 || rep.Interrupted || rep.AckError != "" {
		t.Errorf("load: %d first scans, %d delta scans, interrupted %v, ack error %q", rep.FirstScan.Scans, rep.Delta.Scans, rep.Interrupted, rep.AckError)
	}
	if rep.FirstScan.FilesDownloaded < clients {
		t.Errorf("%d files downloaded, want one per client", rep.FirstScan.FilesDownloaded)
	}
	// The kill costs at most the requests the killed replica left
	// unanswered: HAProxy retries most of them on another replica (L7
	// retries), and for a request that was not the first on its client
	// connection and failed on a network error it closes the client's
	// connection without an answer or a log line, so that the client may
	// retry it (haproxy/haproxy#1109, #3414); clientsim does not retry, so
	// each such close is a failed scan (EOF), at most one per client.
	if int64(rep.Failed()) > res.unanswered || int64(rep.Failed()) > clients {
		t.Errorf("%d scans failed; %s had %d requests in flight and left %d unanswered: %+v", rep.Failed(), res.killed, res.inFlight, res.unanswered, rep.Errors)
	}
	for _, r := range []string{"r1", "r2", "r3"} {
		for _, kind := range []string{testcluster.KindScan, testcluster.KindContent, testcluster.KindReport} {
			if res.byServer[r][kind] == 0 {
				t.Errorf("%s served no %s request: %v", r, kind, res.byServer)
			}
		}
	}
	if len(res.propagation) != 2 {
		t.Errorf("approval seen on %v, want r2 and r3", res.propagation)
	}
	if res.ackedClients < clients || res.ackedInstalls < clients || res.ackedEvents != rep.Acknowledged.Events {
		t.Errorf("acknowledged: %d computers, %d events, %d installs checked; clientsim counted %+v", res.ackedClients, res.ackedEvents, res.ackedInstalls, rep.Acknowledged)
	}
	if len(res.lost) > 0 {
		t.Errorf("%d acknowledged reports not in the store:\n%s", len(res.lost), strings.Join(res.lost, "\n"))
	}
	// HAProxy's own account: r3 went DOWN, and came back UP.
	if len(res.events) != 2 || !strings.HasPrefix(res.events[0], "Server replicas/r3 is DOWN") || !strings.HasPrefix(res.events[1], "Server replicas/r3 is UP") {
		t.Errorf("HAProxy's lines besides requests:\n%s", strings.Join(res.events, "\n"))
	}
	if res.servedAfterRestart == 0 {
		t.Errorf("%s served nothing after its restart: %+v", res.killed, res.stats)
	}
}

// Flags of BenchmarkCluster (scripts/cluster.sh sets them).
var (
	benchReplicas = flag.Int("cluster.replicas", 3, "BenchmarkCluster: wsusd replicas behind HAProxy")
	benchClients  = flag.Int("cluster.clients", 200, "BenchmarkCluster: concurrent simulated clients")
	benchDuration = flag.Duration("cluster.duration", 60*time.Second, "BenchmarkCluster: measured load (after the first scans in delta mode)")
	benchMode     = flag.String("cluster.mode", "delta", "BenchmarkCluster: clientsim load --mode")
	benchInstall  = flag.Bool("cluster.install", false, "BenchmarkCluster: downloads, installs and reports (clientsim load --install)")
	benchKill     = flag.Bool("cluster.kill", false, "BenchmarkCluster: kill -9 the last replica a third into the load, restart it halfway")
	benchProcs    = flag.Int("cluster.gomaxprocs", 0, "BenchmarkCluster: GOMAXPROCS of each replica (0: Go's default, every core)")
)

// BenchmarkCluster runs the cluster scenario at full size (scripts/cluster.sh)
// and reports delta scans/s through HAProxy, their p50 and p99, errors
// during a kill and restart, and acknowledged reports lost.
func BenchmarkCluster(b *testing.B) {
	loadavg, _ := os.ReadFile("/proc/loadavg")
	res := runCluster(b, clusterRun{
		replicas: *benchReplicas, clients: *benchClients, duration: *benchDuration, mode: load.Mode(*benchMode),
		install: *benchInstall, kill: *benchKill, probe: true, probeFor: time.Minute, procs: *benchProcs,
	})
	rep := res.report
	b.ReportMetric(rep.Delta.ScansPerSecond, "delta-scans/s")
	b.ReportMetric(float64(rep.Delta.Latency.P50)/1e6, "p50-ms")
	b.ReportMetric(float64(rep.Delta.Latency.P99)/1e6, "p99-ms")
	b.ReportMetric(float64(rep.Failed()), "errors")
	b.ReportMetric(float64(len(res.lost)), "acks-lost")
	var sb strings.Builder
	fmt.Fprintf(&sb, "cluster: %d replicas (GOMAXPROCS %d), %d clients, mode %s, %v, install %v, kill %v; load average before: %s",
		*benchReplicas, *benchProcs, *benchClients, *benchMode, *benchDuration, *benchInstall, *benchKill, strings.TrimSpace(string(loadavg)))
	fmt.Fprintf(&sb, "\ndelta scans: %d, %.1f/s through HAProxy, p50 %.1f ms, p99 %.1f ms; first scans %d (p99 %.1f ms)",
		rep.Delta.Scans, rep.Delta.ScansPerSecond, float64(rep.Delta.Latency.P50)/1e6, float64(rep.Delta.Latency.P99)/1e6,
		rep.FirstScan.Scans, float64(rep.FirstScan.Latency.P99)/1e6)
	fmt.Fprintf(&sb, "\nerrors: %d failed scans %v", rep.Failed(), rep.Errors)
	if res.killed != "" {
		fmt.Fprintf(&sb, "\nkill: %s with %d requests in flight, %d left unanswered, DOWN after %v, %d requests served after its restart",
			res.killed, res.inFlight, res.unanswered, res.downAfter.Round(time.Millisecond), res.servedAfterRestart)
	}
	fmt.Fprintf(&sb, "\nacknowledged reports: %d batches, %d events; checked %d computers, %d events, %d installs; lost %d",
		rep.Acknowledged.Batches, rep.Acknowledged.Events, res.ackedClients, res.ackedEvents, res.ackedInstalls, len(res.lost))
	for _, l := range res.lost {
		fmt.Fprintf(&sb, "\n  lost: %s", l)
	}
	fmt.Fprintf(&sb, "\napproval on r1 seen: %v", res.propagation)
	fmt.Fprintf(&sb, "\nCPU seconds over %.1f s: clientsim %.1f", rep.Elapsed.Seconds(), rep.ClientCPU.Seconds())
	for _, n := range slices.Sorted(maps.Keys(res.cpu)) {
		fmt.Fprintf(&sb, ", %s %.1f", n, res.cpu[n].Seconds())
	}
	fmt.Fprintf(&sb, "; the whole machine %.1f busy of %.1f", res.machine.busy.Seconds(), res.machine.total.Seconds())
	for _, n := range slices.Sorted(maps.Keys(res.stats)) {
		s := res.stats[n]
		fmt.Fprintf(&sb, "\nhaproxy %s: %s, %d requests, %d 2xx, %d 5xx, %d retries, %d redispatched, %d conn errors, %d response errors",
			n, s.Status, s.Total, s.Responses2xx, s.Responses5xx, s.Retries, s.Redispatches, s.ConnErrors, s.RespErrors)
	}
	fmt.Println(sb.String())
}
