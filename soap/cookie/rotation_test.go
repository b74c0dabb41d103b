package cookie

import (
	"bytes"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
)

// testKey returns a key of KeySize bytes b.
func testKey(b byte) []byte { return bytes.Repeat([]byte{b}, KeySize) }

func mustSealer(tb testing.TB, key []byte, previous ...[]byte) *Sealer {
	tb.Helper()
	s, err := NewSealer(key, previous...)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

func testSession() Session {
	now := time.Date(2026, 12, 6, 15, 0, 0, 0, time.UTC)
	return Session{ServerID: uuid.MustParse("9b5f2c4e-1d3a-4e6b-8c7d-0a1b2c3d4e5f"), ClientID: "e1da06a3-5601-43c9-bac3-52d5db701494",
		IssuedAt: now, Expires: now.Add(time.Hour), ConfigChanged: now.Add(-time.Hour)}
}

// TestRotation: a cookie sealed with the old key opens where the old key is
// a previous key, not where only the new key is held (UnknownKeyError naming
// the old key's ID), and new cookies are sealed with the new key only.
func TestRotation(t *testing.T) {
	oldKey, newKey, otherKey := testKey(1), testKey(2), testKey(3)
	old := mustSealer(t, oldKey)
	sess := testSession()
	sealedOld, err := old.SealSession(sess)
	if err != nil {
		t.Fatal(err)
	}
	authOld, err := old.SealAuth(Auth{ServerID: sess.ServerID, ClientID: sess.ClientID, IssuedAt: sess.IssuedAt, Expires: sess.Expires})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name      string
		sealer    *Sealer
		wantOpen  bool
		wantKeyID string // UnknownKeyError's KeyID when it does not open
	}{
		{"old key alone", old, true, ""},
		{"new key, old previous", mustSealer(t, newKey, oldKey), true, ""},
		{"new key, other and old previous", mustSealer(t, newKey, otherKey, oldKey), true, ""},
		{"new key alone", mustSealer(t, newKey), false, KeyID(oldKey)},
		{"new key, other previous", mustSealer(t, newKey, otherKey), false, KeyID(oldKey)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := c.sealer.OpenSession(sealedOld)
			_, authErr := c.sealer.OpenAuth(authOld)
			if c.wantOpen {
				if err != nil || got.ClientID != sess.ClientID || !got.Expires.Equal(sess.Expires) {
					t.Fatalf("session: %+v, %v; want it open", got, err)
				}
				if authErr != nil {
					t.Fatalf("authorization cookie: %v; want it open", authErr)
				}
				return
			}
			for what, err := range map[string]error{"session": err, "authorization": authErr} {
				var uk *UnknownKeyError
				if !errors.As(err, &uk) || uk.KeyID != c.wantKeyID || !errors.Is(err, ErrInvalid) {
					t.Errorf("%s: err %v, want UnknownKeyError{%s} that is ErrInvalid", what, err, c.wantKeyID)
				}
			}
		})
	}

	// New cookies carry the new key's ID and open with the new key alone,
	// not with the old one alone.
	rotated := mustSealer(t, newKey, oldKey)
	if ids := rotated.KeyIDs(); len(ids) != 2 || ids[0] != KeyID(newKey) || ids[1] != KeyID(oldKey) {
		t.Errorf("KeyIDs %v, want [%s %s]", ids, KeyID(newKey), KeyID(oldKey))
	}
	sealedNew, err := rotated.SealSession(sess)
	if err != nil {
		t.Fatal(err)
	}
	if sealedNew[0] != frameVersion || hex.EncodeToString(sealedNew[1:headerSize]) != KeyID(newKey) {
		t.Errorf("new cookie starts %x, want version %d and key ID %s", sealedNew[:headerSize], frameVersion, KeyID(newKey))
	}
	if _, err := mustSealer(t, newKey).OpenSession(sealedNew); err != nil {
		t.Errorf("a cookie sealed after rotation does not open with the new key alone: %v", err)
	}
	var uk *UnknownKeyError
	if _, err := old.OpenSession(sealedNew); !errors.As(err, &uk) || uk.KeyID != KeyID(newKey) {
		t.Errorf("a cookie sealed after rotation, opened with the old key alone: %v, want UnknownKeyError{%s}", err, KeyID(newKey))
	}
}

// TestOpenErrors: what is not a cookie of ours stays plain ErrInvalid; only
// a framed cookie naming a key not held is UnknownKeyError.
func TestOpenErrors(t *testing.T) {
	s := mustSealer(t, testKey(1))
	sealed, err := s.SealSession(testSession())
	if err != nil {
		t.Fatal(err)
	}
	foreign, err := mustSealer(t, testKey(9)).SealSession(testSession())
	if err != nil {
		t.Fatal(err)
	}
	tamperedBody := bytes.Clone(sealed)
	tamperedBody[len(tamperedBody)-1] ^= 1
	tamperedID := bytes.Clone(sealed)
	tamperedID[1] ^= 1
	cases := []struct {
		name    string
		data    []byte
		unknown bool
	}{
		{"empty", nil, false},
		{"short", sealed[:headerSize+12], false},
		{"garbage of a cookie's length", bytes.Repeat([]byte("A"), len(sealed)), false},
		{"tampered body, our key ID", tamperedBody, false},
		{"another key", foreign, true},
		{"another key, truncated below a cookie", foreign[:headerSize+12+15], false},
		{"our cookie, key ID changed", tamperedID, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := s.OpenSession(c.data)
			var uk *UnknownKeyError
			if !errors.Is(err, ErrInvalid) || errors.As(err, &uk) != c.unknown {
				t.Errorf("err %v; want ErrInvalid, UnknownKeyError %v", err, c.unknown)
			}
		})
	}
}

// TestLegacyFraming: cookies sealed before key IDs (nonce first, the kind
// alone as additional data; genuineSession was sealed so) still open with
// the key, as a current or a previous key.
func TestLegacyFraming(t *testing.T) {
	sealed, err := hex.DecodeString(genuineSession)
	if err != nil {
		t.Fatal(err)
	}
	for name, s := range map[string]*Sealer{
		"current":  mustSealer(t, fuzzKey),
		"previous": mustSealer(t, testKey(1), fuzzKey),
	} {
		if got, err := s.OpenSession(sealed); err != nil || got.ClientID != "e1da06a3-5601-43c9-bac3-52d5db701494" {
			t.Errorf("%s: %+v, %v", name, got, err)
		}
	}
	if _, err := mustSealer(t, testKey(1)).OpenSession(sealed); !errors.Is(err, ErrInvalid) {
		t.Errorf("without the key: %v, want ErrInvalid", err)
	}
}

func TestNewSealerKeys(t *testing.T) {
	if _, err := NewSealer(testKey(1), testKey(2), make([]byte, 16)); err == nil || !strings.Contains(err.Error(), "previous key 2") {
		t.Errorf("a short second previous key: %v, want an error naming previous key 2", err)
	}
	s := mustSealer(t, testKey(1), testKey(1), testKey(2), testKey(2))
	if got := s.KeyIDs(); len(got) != 2 {
		t.Errorf("repeated keys count once: KeyIDs %v", got)
	}
	if a, b := KeyID(testKey(1)), KeyID(testKey(2)); len(a) != 8 || a == b {
		t.Errorf("KeyID: %q, %q", a, b)
	}
}

func TestParseKeyLists(t *testing.T) {
	k1, k2 := hex.EncodeToString(testKey(1)), hex.EncodeToString(testKey(2))
	cases := []struct {
		name    string
		parse   func(string) ([][]byte, error)
		in      string
		want    [][]byte
		wantErr string
	}{
		{"list of two", ParseKeyList, k1 + "," + k2, [][]byte{testKey(1), testKey(2)}, ""},
		{"list, spaces and trailing comma", ParseKeyList, " " + k1 + " , " + k2 + ",", [][]byte{testKey(1), testKey(2)}, ""},
		{"empty list", ParseKeyList, "", nil, ""},
		{"list, second bad", ParseKeyList, k1 + ",abcd", nil, "key 2 of the list"},
		{"list, first not hex", ParseKeyList, strings.Repeat("z", 64) + "," + k2, nil, "key 1 of the list"},
		{"file", ParseKeyFile, "# rotated 2026-12-01\n" + k1 + "\n\n  " + k2 + "  \n", [][]byte{testKey(1), testKey(2)}, ""},
		{"file, CRLF", ParseKeyFile, k1 + "\r\n" + k2 + "\r\n", [][]byte{testKey(1), testKey(2)}, ""},
		{"file, comments only", ParseKeyFile, "# none yet\n", nil, ""},
		{"file, bad third line", ParseKeyFile, "# old\n" + k1 + "\n" + k1[:10] + "\n", nil, "line 3"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := c.parse(c.in)
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) || !strings.Contains(err.Error(), "64 hex digits") {
					t.Fatalf("err %v, want one naming %q and the accepted form", err, c.wantErr)
				}
				return
			}
			if err != nil || len(got) != len(c.want) {
				t.Fatalf("%x, %v; want %x", got, err, c.want)
			}
			for i := range got {
				if !bytes.Equal(got[i], c.want[i]) {
					t.Errorf("key %d: %x, want %x", i, got[i], c.want[i])
				}
			}
		})
	}
}

// FuzzRotation: for any two distinct keys, whatever the session, a cookie
// sealed with the old key opens to the same session with (new, previous
// old), fails with UnknownKeyError naming the old key with (new) alone, and
// a cookie sealed by (new, previous old) opens with (new) alone and not with
// (old) alone.
func FuzzRotation(f *testing.F) {
	f.Add(byte(1), byte(2), "e1da06a3-5601-43c9-bac3-52d5db701494", int64(1791126215))
	f.Add(byte(0), byte(255), "", int64(0))
	f.Add(byte(7), byte(7), "x", int64(-1))
	f.Fuzz(func(t *testing.T, a, b byte, clientID string, unix int64) {
		oldKey, newKey := testKey(a), testKey(b)
		oldKey[0], newKey[KeySize-1] = b, a // keys differ in more than one place
		if bytes.Equal(oldKey, newKey) {
			return
		}
		at := time.Unix(unix%253402300799, 0).UTC()
		sess := Session{ServerID: uuid.NewSHA1(uuid.Nil, []byte(clientID)), ClientID: strings.ToValidUTF8(clientID, "?"),
			IssuedAt: at, Expires: at.Add(time.Hour)}
		old, rotated, newOnly := mustSealer(t, oldKey), mustSealer(t, newKey, oldKey), mustSealer(t, newKey)
		sealed, err := old.SealSession(sess)
		if err != nil {
			return // a time JSON cannot hold; FuzzSealOpen covers it
		}
		got, err := rotated.OpenSession(sealed)
		if err != nil || got.ClientID != sess.ClientID || !got.Expires.Equal(sess.Expires) {
			t.Fatalf("old cookie with (new, previous old): %+v, %v", got, err)
		}
		var uk *UnknownKeyError
		if _, err := newOnly.OpenSession(sealed); !errors.As(err, &uk) || uk.KeyID != KeyID(oldKey) {
			t.Fatalf("old cookie with (new): %v, want UnknownKeyError{%s}", err, KeyID(oldKey))
		}
		resealed, err := rotated.SealSession(sess)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := newOnly.OpenSession(resealed); err != nil {
			t.Fatalf("new cookie with (new): %v", err)
		}
		if _, err := old.OpenSession(resealed); !errors.As(err, &uk) || uk.KeyID != KeyID(newKey) {
			t.Fatalf("new cookie with (old): %v, want UnknownKeyError{%s}", err, KeyID(newKey))
		}
	})
}

// TestRotationProcedure: the README's rotation, as the states replicas go
// through. During a rolling restart two neighbouring states coexist, so
// every cookie either one seals must open on both; after the last step the
// old key's cookies no longer open (once they would have expired).
func TestRotationProcedure(t *testing.T) {
	oldKey, newKey := testKey(1), testKey(2)
	steps := []struct {
		name     string
		key      []byte
		previous [][]byte
	}{
		{"before: the old key", oldKey, nil},
		{"step 2: the new key as previous", oldKey, [][]byte{newKey}},
		{"step 3: the new key, the old as previous", newKey, [][]byte{oldKey}},
		{"step 4: the new key alone", newKey, nil},
	}
	sess := testSession()
	for i := 0; i+1 < len(steps); i++ {
		a, b := steps[i], steps[i+1]
		sa, sb := mustSealer(t, a.key, a.previous...), mustSealer(t, b.key, b.previous...)
		for _, pair := range []struct {
			from, to         *Sealer
			fromName, toName string
		}{{sa, sb, a.name, b.name}, {sb, sa, b.name, a.name}} {
			sealed, err := pair.from.SealSession(sess)
			if err != nil {
				t.Fatal(err)
			}
			_, err = pair.to.OpenSession(sealed)
			// The last step drops the old key: cookies the step before
			// sealed (with the new key) still open, and it seals none with
			// the old one.
			if err != nil {
				t.Errorf("a cookie sealed at %q does not open at %q: %v", pair.fromName, pair.toName, err)
			}
		}
	}
	oldCookie, err := mustSealer(t, oldKey).SealSession(sess)
	if err != nil {
		t.Fatal(err)
	}
	last := steps[len(steps)-1]
	var uk *UnknownKeyError
	if _, err := mustSealer(t, last.key, last.previous...).OpenSession(oldCookie); !errors.As(err, &uk) {
		t.Errorf("after the last step an old key's cookie opens: %v", err)
	}
}
