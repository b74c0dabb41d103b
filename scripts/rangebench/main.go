// Command rangebench measures ranged GET throughput of one URL the way
// Delivery Optimization downloads: closed 1 MiB ranges aligned to 1 MiB in
// shuffled order, each connection a keep-alive one of its own. It prints
// one line: requests, bytes, MiB/s and latency percentiles; with -json, the
// same as JSON. scripts/bench-content.sh runs it against S3 directly (a
// presigned URL) and through wsusd in the same run.
//
//	rangebench -url URL [-conns 8] [-duration 20s] [-piece 1048576]
//
// Every answer must be 206 with the exact Content-Range and Content-Length;
// anything else stops the run with an error.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

func main() {
	url := flag.String("url", "", "URL to GET ranges of (required)")
	conns := flag.Int("conns", 8, "concurrent keep-alive connections")
	duration := flag.Duration("duration", 20*time.Second, "how long to run")
	piece := flag.Int64("piece", 1<<20, "range size in bytes")
	jsonOut := flag.Bool("json", false, "print the result as JSON")
	flag.Parse()
	if *url == "" || *conns < 1 || *piece < 1 || *duration <= 0 {
		flag.Usage()
		os.Exit(2)
	}
	res, err := run(context.Background(), *url, *conns, *duration, *piece)
	if err != nil {
		fmt.Fprintf(os.Stderr, "rangebench: %v\n", err)
		os.Exit(1)
	}
	if *jsonOut {
		json.NewEncoder(os.Stdout).Encode(res)
		return
	}
	fmt.Printf("%d requests, %d bytes in %.1fs: %.1f MiB/s; latency p50 %.2fms p99 %.2fms\n",
		res.Requests, res.Bytes, res.Seconds, res.MiBPerSecond, res.P50Millis, res.P99Millis)
}

// result is what a run measured.
type result struct {
	Requests     int     `json:"requests"`
	Bytes        int64   `json:"bytes"`
	Seconds      float64 `json:"seconds"`
	MiBPerSecond float64 `json:"mib_per_second"`
	P50Millis    float64 `json:"p50_ms"`
	P99Millis    float64 `json:"p99_ms"`
}

// run GETs shuffled pieces of url from conns connections for d.
func run(ctx context.Context, url string, conns int, d time.Duration, piece int64) (result, error) {
	size, err := objectSize(ctx, url)
	if err != nil {
		return result{}, err
	}
	var starts []int64
	for off := int64(0); off < size; off += piece {
		starts = append(starts, off)
	}
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	var (
		mu        sync.Mutex
		latencies []time.Duration
		total     int64
		firstErr  error
		wg        sync.WaitGroup
	)
	begin := time.Now()
	for c := range conns {
		wg.Go(func() {
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1, DisableCompression: true}}
			order := slices.Clone(starts)
			rand.New(rand.NewPCG(uint64(c), 7)).Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
			buf := make([]byte, 256<<10)
			var lat []time.Duration
			var n int64
			for i := 0; ctx.Err() == nil; i++ {
				off := order[i%len(order)]
				t0 := time.Now()
				got, err := getRange(ctx, client, url, off, min(off+piece, size)-1, size, buf)
				if err != nil {
					if ctx.Err() == nil {
						mu.Lock()
						if firstErr == nil {
							firstErr = err
						}
						mu.Unlock()
						cancel()
					}
					break
				}
				lat = append(lat, time.Since(t0))
				n += got
			}
			mu.Lock()
			latencies = append(latencies, lat...)
			total += n
			mu.Unlock()
		})
	}
	wg.Wait()
	elapsed := time.Since(begin).Seconds()
	if firstErr != nil {
		return result{}, firstErr
	}
	if len(latencies) == 0 {
		return result{}, errors.New("no request completed")
	}
	slices.Sort(latencies)
	pct := func(p float64) float64 {
		return float64(latencies[int(p*float64(len(latencies)-1))].Microseconds()) / 1000
	}
	return result{
		Requests: len(latencies), Bytes: total, Seconds: elapsed,
		MiBPerSecond: float64(total) / (1 << 20) / elapsed,
		P50Millis:    pct(0.50), P99Millis: pct(0.99),
	}, nil
}

// objectSize asks for the first byte and reads the total from Content-Range
// (a presigned GET URL allows no HEAD).
func objectSize(ctx context.Context, url string) (int64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Range", "bytes=0-0")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, resp.Body)
	_, total, ok := strings.Cut(resp.Header.Get("Content-Range"), "/")
	size, err := strconv.ParseInt(total, 10, 64)
	if resp.StatusCode != http.StatusPartialContent || !ok || err != nil || size <= 0 {
		return 0, fmt.Errorf("GET %s bytes=0-0: %s, Content-Range %q", url, resp.Status, resp.Header.Get("Content-Range"))
	}
	return size, nil
}

// getRange GETs bytes a-b and checks the answer's framing.
func getRange(ctx context.Context, client *http.Client, url string, a, b, size int64, buf []byte) (int64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, err
	}
	rng := fmt.Sprintf("bytes=%d-%d", a, b)
	req.Header.Set("Range", rng)
	resp, err := client.Do(req)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", rng, err)
	}
	defer resp.Body.Close()
	n, err := io.CopyBuffer(io.Discard, resp.Body, buf)
	if err != nil {
		return n, fmt.Errorf("%s: body: %w", rng, err)
	}
	wantCR := fmt.Sprintf("bytes %d-%d/%d", a, b, size)
	if resp.StatusCode != http.StatusPartialContent || resp.Header.Get("Content-Range") != wantCR || n != b-a+1 {
		return n, fmt.Errorf("%s: %s, Content-Range %q, %d bytes; want 206, %q, %d", rng, resp.Status, resp.Header.Get("Content-Range"), n, wantCR, b-a+1)
	}
	return n, nil
}
