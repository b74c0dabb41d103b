package soap

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"
)

// echoService is a Service with one operation, Echo, that waits on hold
// (when not nil) before answering.
func echoService(adm *Admission, hold <-chan struct{}, entered chan<- struct{}) *httptest.Server {
	svc := NewService("Echo", "urn:echo", StyleClient, adm, slog.New(slog.DiscardHandler))
	svc.Handle("Echo", Limits{MaxBytes: 4096, MaxMarkup: 100}, func(ctx context.Context, req *Request) (*etree.Element, error) {
		if entered != nil {
			entered <- struct{}{}
		}
		if hold != nil {
			<-hold
		}
		return req.NewResponse(), nil
	})
	return httptest.NewServer(svc)
}

const echoBody = `<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><Echo xmlns="urn:echo"/></s:Body></s:Envelope>`

func postEcho(t *testing.T, url string) string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(echoBody))
	req.Header.Set("SOAPAction", `"urn:echo/Echo"`)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// TestAdmissionSlots checks that a request finding every slot taken waits
// at most MaxWait and is then answered ServerBusy, and that slots and the
// memory budget are given back once requests end.
func TestAdmissionSlots(t *testing.T) {
	adm := NewAdmission(1, 1<<20, 50*time.Millisecond)
	hold := make(chan struct{})
	entered := make(chan struct{}, 1)
	srv := echoService(adm, hold, entered)
	defer srv.Close()

	first := make(chan string)
	go func() { first <- postEcho(t, srv.URL) }()
	<-entered // the first request holds the only slot
	if got := postEcho(t, srv.URL); !strings.Contains(got, "<ErrorCode>ServerBusy</ErrorCode>") || !strings.Contains(got, "<faultcode>s:Server</faultcode>") {
		t.Fatalf("request with every slot taken answered %s, want a ServerBusy fault", got)
	}
	close(hold)
	if got := <-first; !strings.Contains(got, "<EchoResponse") {
		t.Fatalf("the held request answered %s", got)
	}
	entered2 := make(chan struct{}, 1)
	srv2 := echoService(adm, nil, entered2)
	defer srv2.Close()
	if got := postEcho(t, srv2.URL); !strings.Contains(got, "<EchoResponse") {
		t.Fatalf("after the slot was freed: %s", got)
	}
	if r := adm.Reserved(); r != 0 {
		t.Fatalf("%d bytes still reserved after every request ended", r)
	}
}

// TestAdmissionBudget checks reserve and release at their edges.
func TestAdmissionBudget(t *testing.T) {
	adm := NewAdmission(1, 100, 0)
	for _, tc := range []struct {
		n    int64
		want bool
	}{{60, true}, {41, false}, {40, true}, {1, false}, {-1, false}} {
		if got := adm.reserve(tc.n); got != tc.want {
			t.Errorf("reserve(%d) with %d used = %v, want %v", tc.n, adm.Reserved(), got, tc.want)
		}
	}
	adm.release(60)
	adm.release(40)
	if adm.Reserved() != 0 {
		t.Fatalf("reserved %d after releasing everything", adm.Reserved())
	}
}

func TestRootCause(t *testing.T) {
	base := errors.New("connection refused")
	for _, tc := range []struct {
		name string
		err  error
		want error
	}{
		{"plain", base, base},
		{"wrapped", fmt.Errorf("postgres: computer %q: %w", "a", fmt.Errorf("dial: %w", base)), base},
		{"joined", fmt.Errorf("op: %w", errors.Join(base, errors.New("second"))), base},
	} {
		if got := rootCause(tc.err); got != tc.want {
			t.Errorf("%s: rootCause = %v, want %v", tc.name, got, tc.want)
		}
	}
}
