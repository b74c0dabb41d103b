package cookie

import (
	"bytes"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"
)

func TestSealOpen(t *testing.T) {
	s, err := NewSealer(bytes.Repeat([]byte{7}, KeySize))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 10, 4, 15, 3, 35, 996723600, time.UTC)
	sess := Session{ServerID: uuid.New(), ClientID: "e1da06a3-5601-43c9-bac3-52d5db701494", Groups: []string{"Ring1"},
		IssuedAt: now, Expires: now.Add(time.Hour), ProtocolVersion: "2.90", ConfigChanged: now.Add(-time.Hour), SyncAnchor: now.Add(-time.Minute)}
	sealed, err := s.SealSession(sess)
	if err != nil {
		t.Fatal(err)
	}
	if len(sealed) > 400 {
		t.Errorf("session cookie is %d bytes; real WSUS sends 224, keep it small", len(sealed))
	}
	got, err := s.OpenSession(sealed)
	if err != nil {
		t.Fatal(err)
	}
	if got.ClientID != sess.ClientID || !got.Expires.Equal(sess.Expires) || !got.SyncAnchor.Equal(sess.SyncAnchor) || got.Groups[0] != "Ring1" || got.ServerID != sess.ServerID {
		t.Errorf("round trip: %+v, want %+v", got, sess)
	}
	again, _ := s.SealSession(sess)
	if bytes.Equal(again, sealed) {
		t.Error("two seals of one session are identical: the nonce is not fresh")
	}

	other, _ := NewSealer(bytes.Repeat([]byte{8}, KeySize))
	tampered := bytes.Clone(sealed)
	tampered[len(tampered)/2] ^= 1
	cases := map[string]func() error{
		"tampered":        func() error { _, err := s.OpenSession(tampered); return err },
		"truncated":       func() error { _, err := s.OpenSession(sealed[:10]); return err },
		"another key":     func() error { _, err := other.OpenSession(sealed); return err },
		"session as auth": func() error { _, err := s.OpenAuth(sealed); return err },
		"empty":           func() error { _, err := s.OpenSession(nil); return err },
	}
	for name, open := range cases {
		if err := open(); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: err %v, want ErrInvalid", name, err)
		}
	}
}

func TestKeys(t *testing.T) {
	if _, err := NewSealer(make([]byte, 16)); err == nil {
		t.Error("a 16-byte key was accepted")
	}
	if _, err := ParseKey("abcd"); err == nil {
		t.Error("a short hex key was accepted")
	}
	path := filepath.Join(t.TempDir(), "cookie.key")
	k1, err := LoadOrCreateKey(path)
	if err != nil || len(k1) != KeySize {
		t.Fatalf("create: %v %d", err, len(k1))
	}
	k2, err := LoadOrCreateKey(path)
	if err != nil || !bytes.Equal(k1, k2) {
		t.Fatalf("reload gave another key: %v", err)
	}
}

// TestSealPurpose checks that a cookie sealed for one purpose opens for
// that purpose only, never for another or as a client-protocol cookie.
func TestSealPurpose(t *testing.T) {
	s, err := NewSealer(bytes.Repeat([]byte{7}, KeySize))
	if err != nil {
		t.Fatal(err)
	}
	type value struct {
		Name string `json:"n"`
	}
	sealed, err := s.Seal("console-session-v1", value{Name: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	var got value
	if err := s.Open("console-session-v1", sealed, &got); err != nil || got.Name != "alice" {
		t.Fatalf("Open = %+v, %v; want alice", got, err)
	}
	session, _ := s.SealSession(Session{ClientID: "c"})
	cases := map[string]func() error{
		"another purpose":    func() error { return s.Open("console-flash-v1", sealed, &got) },
		"purpose as session": func() error { _, err := s.OpenSession(sealed); return err },
		"purpose as auth":    func() error { _, err := s.OpenAuth(sealed); return err },
		"session as purpose": func() error { return s.Open("session-v1", session, &got) },
		"empty as purpose":   func() error { return s.Open("console-session-v1", nil, &got) },
	}
	for name, open := range cases {
		if err := open(); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: err %v, want ErrInvalid", name, err)
		}
	}
}
