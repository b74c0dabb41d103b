package server_test

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"

	"wsus/clientsim"
)

// encodingCounter records, per kind of path, the Content-Encoding of the
// answers and their bytes as sent.
type encodingCounter struct {
	next http.RoundTripper
	mu   sync.Mutex
	soap map[string]int // Content-Encoding → answers
	wire int64          // Content-Length of the SOAP answers
	// content counts /Content/ answers with any Content-Encoding.
	encodedContent int
}

func (c *encodingCounter) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := c.next.RoundTrip(r)
	if err != nil {
		return resp, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	enc := resp.Header.Get("Content-Encoding")
	if strings.HasPrefix(strings.ToLower(r.URL.Path), "/content/") {
		if enc != "" {
			c.encodedContent++
		}
		return resp, nil
	}
	c.soap[enc+" vary="+resp.Header.Get("Vary")]++
	c.wire += resp.ContentLength
	return resp, nil
}

// TestClientsimScanInXpress: clientsim asks for Xpress as the agent does,
// decodes the answers and completes scan, download and report; every SOAP
// answer came in Xpress with Vary, no payload did; the same scan without
// Accept-Encoding gets identity answers, more bytes, and the same outcome.
func TestClientsimScanInXpress(t *testing.T) {
	base, _, _ := startDemo(t)
	scan := func(identity bool) (clientsim.Summary, *encodingCounter) {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.DisableCompression = true
		counter := &encodingCounter{next: tr, soap: map[string]int{}}
		t.Cleanup(tr.CloseIdleConnections)
		sum, err := clientsim.Scan(context.Background(), clientsim.Config{
			ServerURL: base, Identity: identity, HTTPClient: &http.Client{Transport: counter},
		})
		if err != nil {
			t.Fatalf("scan (identity %v): %v", identity, err)
		}
		return sum, counter
	}
	x, xc := scan(false)
	id, ic := scan(true)
	if len(xc.soap) != 1 || xc.soap["xpress vary=Accept-Encoding"] < 8 {
		t.Errorf("SOAP answers by encoding with Xpress: %v, want all xpress with Vary", xc.soap)
	}
	if len(ic.soap) != 1 || ic.soap[" vary="] < 8 {
		t.Errorf("SOAP answers by encoding without Accept-Encoding: %v, want all identity without Vary", ic.soap)
	}
	if xc.encodedContent+ic.encodedContent != 0 {
		t.Errorf("%d payload answers had a Content-Encoding", xc.encodedContent+ic.encodedContent)
	}
	if x.UpdatesOffered != id.UpdatesOffered || x.FilesDownloaded != 1 || x.FilesDownloaded != id.FilesDownloaded ||
		x.BytesVerified != id.BytesVerified || x.EventsReported != id.EventsReported || x.SoftwareRounds != id.SoftwareRounds {
		t.Errorf("scan in Xpress %+v, in identity %+v", x, id)
	}
	if xc.wire >= ic.wire {
		t.Errorf("SOAP answers: %d bytes in Xpress, %d in identity", xc.wire, ic.wire)
	}
	t.Logf("SOAP answers of a demo scan: %d bytes in Xpress, %d in identity", xc.wire, ic.wire)
}
