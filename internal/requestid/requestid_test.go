package requestid_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"wsus/internal/requestid"
)

func TestValid(t *testing.T) {
	for id, want := range map[string]bool{
		"":                                      false,
		"abc":                                   true,
		"0f6a2b4c-0000-4000-8000-00000000000a":  true,
		"req_1.2:3":                             true,
		strings.Repeat("a", requestid.MaxLen):   true,
		strings.Repeat("a", requestid.MaxLen+1): false,
		"a b":                                   false,
		"a\nb":                                  false,
		"a\"b":                                  false,
		"é":                                     false,
		"a/b":                                   false,
	} {
		if got := requestid.Valid(id); got != want {
			t.Errorf("Valid(%q) = %v, want %v", id, got, want)
		}
	}
}

func TestNew(t *testing.T) {
	a, b := requestid.New(), requestid.New()
	if len(a) != 32 || !requestid.Valid(a) || a == b {
		t.Errorf("New() = %q, %q: want two different 32-digit hex IDs", a, b)
	}
}

// serve runs Handler over a handler that records the ID it saw and returns
// the answer's header and that ID.
func serve(t *testing.T, in []string) (http.Header, string) {
	t.Helper()
	var seen string
	h := requestid.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = requestid.From(r.Context())
		w.WriteHeader(http.StatusTeapot)
	}))
	req := httptest.NewRequest(http.MethodGet, "/x", nil)
	for _, v := range in {
		req.Header.Add(requestid.Header, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Result().Header, seen
}

func TestHandler(t *testing.T) {
	tests := []struct {
		name string
		in   []string
		keep bool
	}{
		{"none", nil, false},
		{"sane", []string{"abc-123"}, true},
		{"too long", []string{strings.Repeat("x", requestid.MaxLen+1)}, false},
		{"bad characters", []string{"a b<script>"}, false},
		{"twice", []string{"one", "two"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, seen := serve(t, tt.in)
			got := h.Get(requestid.Header)
			if got == "" || got != seen {
				t.Fatalf("answer's %s = %q, the context's %q: want the same, not empty", requestid.Header, got, seen)
			}
			if tt.keep && got != tt.in[0] {
				t.Errorf("ID %q, want the incoming %q kept", got, tt.in[0])
			}
			if !tt.keep && (len(got) != 32 || !requestid.Valid(got)) {
				t.Errorf("ID %q, want a fresh 32-digit one", got)
			}
		})
	}
}

func TestBindTwiceKeepsTheID(t *testing.T) {
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	rec := httptest.NewRecorder()
	r1 := requestid.Bind(rec, req)
	id := requestid.From(r1.Context())
	r2 := requestid.Bind(rec, r1)
	if got := requestid.From(r2.Context()); got != id || rec.Header().Get(requestid.Header) != id {
		t.Errorf("second Bind: context %q, header %q; want %q", got, rec.Header().Get(requestid.Header), id)
	}
}

func TestLogHandler(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(requestid.NewLogHandler(slog.NewJSONHandler(&buf, nil))).With("component", "test")
	ctx := requestid.NewContext(context.Background(), "req-7")
	log.InfoContext(ctx, "with", "k", 1)
	log.Info("without")
	log.WithGroup("g").InfoContext(ctx, "grouped")
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 3 {
		t.Fatalf("%d lines, want 3: %s", len(lines), buf.String())
	}
	var recs [3]map[string]any
	for i, l := range lines {
		if err := json.Unmarshal([]byte(l), &recs[i]); err != nil {
			t.Fatalf("line %d: %v", i, err)
		}
	}
	if recs[0][requestid.LogKey] != "req-7" || recs[0]["component"] != "test" || recs[0]["k"] != float64(1) {
		t.Errorf("record with an ID in its context: %v", recs[0])
	}
	if _, ok := recs[1][requestid.LogKey]; ok {
		t.Errorf("record without context has %s: %v", requestid.LogKey, recs[1])
	}
	if g, _ := recs[2]["g"].(map[string]any); g[requestid.LogKey] != "req-7" {
		t.Errorf("record in a group: %v", recs[2])
	}
	if requestid.NewLogHandler(requestid.NewLogHandler(slog.DiscardHandler)) == nil {
		t.Error("wrapping twice gave nil")
	}
}

// FuzzBind: whatever the client sends, the ID answered and put in the
// context is the same, valid and bounded; a valid one is kept.
func FuzzBind(f *testing.F) {
	for _, s := range []string{"", "abc", "a b", strings.Repeat("x", requestid.MaxLen+1), "\x00", "ü"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		h, seen := serve(t, []string{in})
		got := h.Get(requestid.Header)
		if got != seen || !requestid.Valid(got) || len(got) > requestid.MaxLen {
			t.Fatalf("in %q: answered %q, context %q", in, got, seen)
		}
		if requestid.Valid(in) && got != in {
			t.Errorf("valid %q replaced by %q", in, got)
		}
	})
}
