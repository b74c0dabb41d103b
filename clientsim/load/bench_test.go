package load

import (
	"context"
	"runtime"
	"sync/atomic"
	"testing"

	"wsus/clientsim"
)

// BenchmarkDeltaSyncUpdates measures delta scans against the demo server:
// agents that hold the whole catalog each send one software SyncUpdates
// carrying their full cache and the driver pass, concurrently (4 agents per
// GOMAXPROCS). One op is one delta scan, i.e. two SyncUpdates; the
// SyncUpdates/s metric counts the calls. Client and server share the CPUs.
func BenchmarkDeltaSyncUpdates(b *testing.B) {
	base, _ := startDemo(b)
	const parallelism = 4
	n := parallelism * runtime.GOMAXPROCS(0)
	cfg, u, err := Config{ServerURL: base, Clients: n}.withDefaults()
	if err != nil {
		b.Fatal(err)
	}
	client := httpClient(cfg, u)
	b.Cleanup(client.CloseIdleConnections) // before the server's shutdown
	ctx := context.Background()
	agents := make(chan *clientsim.Agent, n)
	for range n {
		a, err := clientsim.NewAgent(clientsim.Config{ServerURL: base, HTTPClient: client})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := a.Scan(ctx, clientsim.ScanOptions{}); err != nil {
			b.Fatal(err)
		}
		agents <- a
	}

	var calls atomic.Int64
	b.SetParallelism(parallelism)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		a := <-agents
		for pb.Next() {
			res, err := a.Scan(ctx, clientsim.ScanOptions{})
			if err != nil {
				b.Error(err)
				return
			}
			if res.NewUpdates != 0 || res.SoftwareRounds != 1 {
				b.Errorf("not a delta scan: %+v", res)
				return
			}
			calls.Add(int64(res.SoftwareRounds + res.DriverRounds))
		}
	})
	b.ReportMetric(float64(calls.Load())/b.Elapsed().Seconds(), "SyncUpdates/s")
}
