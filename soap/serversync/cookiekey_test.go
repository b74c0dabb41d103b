package serversync

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"

	"wsus/soap"
	"wsus/soap/cookie"
	"wsus/sync/upstream"
	"wsus/sync/wsusss"
)

// syncBuffer is a log destination the server writes while the test reads.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// errorLines returns the messages and err attributes of the ERROR lines
// written so far, and empties the buffer.
func (b *syncBuffer) errorLines(t *testing.T) [][2]string {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	var out [][2]string
	for _, line := range strings.Split(strings.TrimSpace(b.buf.String()), "\n") {
		var m struct{ Level, Msg, Err string }
		if line == "" {
			continue
		}
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if m.Level == "ERROR" {
			out = append(out, [2]string{m.Msg, m.Err})
		}
	}
	b.buf.Reset()
	return out
}

// TestCookieKeyRotation: the access and authorization cookies a server
// sealed with the old key open on a server holding the new key with the old
// one as previous; on a server holding only the new key they get
// InvalidCookie and InvalidAuthorizationCookie as before, and the ERROR
// line saying which setting to fix.
func TestCookieKeyRotation(t *testing.T) {
	st := engines[0].open(t)
	oldKey := bytes.Repeat([]byte{9}, cookie.KeySize)
	before := newHarness(t, st, Config{CookieKey: oldKey})
	oldAccess, oldAuth := before.cookie(), before.authCookie()
	logs := &syncBuffer{}
	logger := slog.New(slog.NewJSONHandler(logs, nil))
	rotated := newHarness(t, st, Config{CookieKey: testKey, CookieKeyPrevious: [][]byte{oldKey}, Logger: logger})
	newOnly := newHarness(t, st, Config{CookieKey: testKey, Logger: logger})

	mismatch := [][2]string{{cookie.MismatchMessage, "cookie: sealed with a cookie key this server does not hold"}}
	cases := []struct {
		name string
		h    *harness
		req  wsusss.Request
		op   string
		want soap.ErrorCode // "" for an answer
		logs [][2]string
	}{
		{"access cookie, previous key held", rotated, wsusss.GetConfigDataRequest(oldAccess, ""), "GetConfigData", "", nil},
		{"authorization cookie, previous key held", rotated, wsusss.GetCookieRequest(oldAuth, nil, upstream.DefaultProtocolVersion), "GetCookie", "", nil},
		{"access cookie, new key only", newOnly, wsusss.GetConfigDataRequest(oldAccess, ""), "GetConfigData", soap.InvalidCookie, mismatch},
		{"authorization cookie, new key only", newOnly, wsusss.GetCookieRequest(oldAuth, nil, upstream.DefaultProtocolVersion), "GetCookie", soap.InvalidAuthorizationCookie, mismatch},
		{"garbage access cookie", newOnly, envelope("GetConfigData", wsusss.Cookie{EncryptedData: bytes.Repeat([]byte("A"), 200)}, ""), "GetConfigData", soap.InvalidCookie, nil},
		{"new key's own cookie", newOnly, wsusss.GetConfigDataRequest(rotated.cookie(), ""), "GetConfigData", "", nil},
	}
	logs.errorLines(t)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			status, body := c.h.call(c.req)
			if c.want == "" {
				if status != http.StatusOK {
					t.Fatalf("%s: status %d: %s", c.op, status, body)
				}
			} else if f := fault(t, c.op, status, body); f.Code != c.want {
				t.Fatalf("%s: fault %s, want %s", c.op, f.Code, c.want)
			}
			if got := logs.errorLines(t); len(got) != len(c.logs) || (len(got) > 0 && got[0] != c.logs[0]) {
				t.Errorf("ERROR lines %q, want %q", got, c.logs)
			}
		})
	}
}
