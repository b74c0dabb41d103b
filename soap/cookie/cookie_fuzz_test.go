package cookie

import (
	"bytes"
	"encoding/hex"
	"errors"
	"reflect"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
)

// Fuzzing the opening of cookies, which clients send back as they please.
// Invariants: opening arbitrary bytes never panics and fails with
// ErrInvalid unless the bytes are exactly ones this key sealed (a forgery
// that opened would be a broken AEAD); an authorization cookie never opens
// as a session cookie or the reverse; and every session or authorization
// sealed opens again to the same value.

// fuzzKey is the key of the fuzzed sealer.
var fuzzKey = bytes.Repeat([]byte{0x5a}, KeySize)

func fuzzSealer(tb testing.TB) *Sealer {
	tb.Helper()
	s, err := NewSealer(fuzzKey)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

// Cookies sealed once under fuzzKey (fixed here: the fuzzing workers are
// separate processes, and a fresh seal has a fresh nonce), with what they
// hold: genuineSession and genuineAuth before cookies named their key,
// framedSession and framedAuth in the framing with the key ID.
const (
	framedSession  = "015b03cdbc344e1d81c9f6b4fded63da93d67eac6fe250ced01fe4827abbbf46cbe55c0be54f7f54e529a2806c9c72afd7591b9562b09c0434762458b9169fb09f50b6669a2d6c325f89e10dbdfc7997714d0c7873a027efc5c6cd8b37f1f20affa37325196fde30ee2a4224706ec312a2ff9e1bd390d5e6a06e31e56e9d477ac90d7649adb5604be2feba5f9d518c6b40161eccce7bd93f09ab1d526f6c4a909a7ae8255e1a39affe9671bdc86dc6ea18ee8d000513c1a256d63f334837042a28384195e5b4bd592d215b7e469a5dacfd97f77f80974835e96bb855bf6cb65bfa645e02891f3645ebb4c83f3d9348437c693b7b08bdd5c46e55"
	framedAuth     = "015b03cdbc27c51f192211c178baae7690c709c29c538af2f9a762303e35eeb77e436781663880498f9f9b7a256991981adc88be7dbbd4d8f998bf33d66ca9d663101cb102a16554002d2413c09b1f9e3b612d5f3b43cd6489f2ff0bfcfa0c5349c33f4ea591233b1f88362cb9f02855163800f3e10b70dc8e71a12d2f37e61f1280cae6611992979364de766bf09b745818f5bd8b6a130c99d75ea370450cfe00751c63a96b3c56d0c222ca111c34fac97fbb8e839780de4383be92d5cc76bc63b7438af9be829922e298766bd29c27a28d224b5753d1"
	genuineSession = "85286ecf65050e75a2f6503b39742d333b0cc608017d96a0275b047e8e2724620eecb7a83a433210c99a3fcc3e6673866cdb9ab960a6e817f6f6aa002a60bf4ecac501465b78eebc78253f021c69c0ccb91f8f942c196e82a972bddf8803d5d0024fbe61fd3940797f90ea17aaf7a61738a0a9793016569a442eaf573a5f066f9e34279f21345ea0f028470b828e7d8b0ab83e26d804b0654edfe0dd08cb390c19418a28ee326cff2b16aec1aa0d903d5cc2585ffce6ca1aa82a6202e649659bbe0e33af19312261bae31171d403e83e4fac82b09241191d19bfbf0e9f4a3d4c74772c882070cd897253035e730a7cf8463f18fe9b"
	genuineAuth    = "6b3788d2d623b286330a6ccb0a7b43e20bebf41392320a3168bceb618e86dfdb8e0e8cd07c74ec96e8a0e2ec3ee0d2a4a207adcac48602c9801bc9cece67faab740f3d10057fbbcea851aac914140b919589364c96acfeb39fbef22e308913be729da29cb7b4f942a9d812b25a292b20556104c2cd3a39f4e8eda492f2916ac7dd8f80a565900c6303d45f07c947929fbae20c7eefed64c52e342b8900291aedf8f94cf4cf56e4e6815d69ec28cc5460b8fff66eb4087de13ef3bc645585e9728891f4e2b5c57b859b4a2bab040ced20334a"
)

func FuzzOpen(f *testing.F) {
	s := fuzzSealer(f)
	now := time.Date(2026, 10, 4, 15, 3, 35, 996723600, time.UTC)
	sess := Session{ServerID: uuid.MustParse("9b5f2c4e-1d3a-4e6b-8c7d-0a1b2c3d4e5f"), ClientID: "e1da06a3-5601-43c9-bac3-52d5db701494",
		Groups: []string{"Ring1"}, IssuedAt: now, Expires: now.Add(time.Hour), ProtocolVersion: "2.90", ConfigChanged: now.Add(-time.Hour)}
	auth := Auth{ServerID: sess.ServerID, ClientID: sess.ClientID, DNSName: "pc-1", Groups: []string{"Ring1"}, IssuedAt: now, Expires: now.Add(8 * time.Hour)}
	sealedSession, err := hex.DecodeString(genuineSession)
	if err != nil {
		f.Fatal(err)
	}
	sealedAuth, err := hex.DecodeString(genuineAuth)
	if err != nil {
		f.Fatal(err)
	}
	framedS, err := hex.DecodeString(framedSession)
	if err != nil {
		f.Fatal(err)
	}
	framedA, err := hex.DecodeString(framedAuth)
	if err != nil {
		f.Fatal(err)
	}
	// The only bytes that may open.
	genuine := map[string]string{string(sealedSession): "session", string(sealedAuth): "auth",
		string(framedS): "session", string(framedA): "auth"}
	f.Add(sealedSession)
	f.Add(sealedAuth)
	f.Add(framedS)
	f.Add(framedA)
	otherID := bytes.Clone(framedS)
	otherID[1] ^= 1 // the same cookie naming another key
	f.Add(otherID)
	f.Add([]byte{})
	f.Add(make([]byte, 12+16))
	f.Add(bytes.Repeat([]byte("A"), 168)) // the sanitized EncryptedData of the captures, decoded length
	ownID := KeyID(fuzzKey)
	f.Fuzz(func(t *testing.T, data []byte) {
		kind := genuine[string(data)]
		got, err := s.OpenSession(data)
		// A cookie that does not open names a key not held exactly when it
		// is framed, long enough, and its key ID is not fuzzKey's.
		var uk *UnknownKeyError
		framedOther := len(data) >= headerSize+12+16 && data[0] == frameVersion && hex.EncodeToString(data[1:headerSize]) != ownID
		if err != nil && errors.As(err, &uk) != framedOther {
			t.Fatalf("OpenSession(%x) = %v; framed with another key ID: %v", data, err, framedOther)
		}
		switch {
		case kind == "session":
			if err != nil || !reflect.DeepEqual(normalizeSession(got), normalizeSession(sess)) {
				t.Fatalf("the sealed session opens as %+v, %v", got, err)
			}
		case err == nil:
			t.Fatalf("bytes this key never sealed opened as a session: %x → %+v", data, got)
		case !errors.Is(err, ErrInvalid):
			t.Fatalf("OpenSession error %v, want ErrInvalid", err)
		}
		gotAuth, err := s.OpenAuth(data)
		switch {
		case kind == "auth":
			if err != nil || !reflect.DeepEqual(normalizeAuth(gotAuth), normalizeAuth(auth)) {
				t.Fatalf("the sealed authorization cookie opens as %+v, %v", gotAuth, err)
			}
		case err == nil:
			t.Fatalf("bytes this key never sealed opened as an authorization cookie: %x → %+v", data, gotAuth)
		case !errors.Is(err, ErrInvalid):
			t.Fatalf("OpenAuth error %v, want ErrInvalid", err)
		}
	})
}

// normalizeSession drops what a JSON round trip may change without
// changing the meaning: time zone representations and nil vs empty slices.
func normalizeSession(s Session) Session {
	s.IssuedAt, s.Expires, s.ConfigChanged, s.SyncAnchor = s.IssuedAt.UTC(), s.Expires.UTC(), s.ConfigChanged.UTC(), s.SyncAnchor.UTC()
	if len(s.Groups) == 0 {
		s.Groups = nil
	}
	return s
}

func normalizeAuth(a Auth) Auth {
	a.IssuedAt, a.Expires = a.IssuedAt.UTC(), a.Expires.UTC()
	if len(a.Groups) == 0 {
		a.Groups = nil
	}
	return a
}

func FuzzSealOpen(f *testing.F) {
	s := fuzzSealer(f)
	f.Add("e1da06a3-5601-43c9-bac3-52d5db701494", "pc-1.contoso.test", "Ring1", "2.90", int64(1791126215), int64(996723600), uint8(0))
	f.Add("", "", "", "", int64(0), int64(0), uint8(3))
	f.Add("ä\u2028\"<>&", "x", "a;b", "1.0", int64(-62135596800), int64(0), uint8(1))
	f.Add("x", "y", "g", "9", int64(253402300799), int64(999999999), uint8(2))
	f.Fuzz(func(t *testing.T, clientID, dnsName, group, protocol string, unix, nanos int64, groups uint8) {
		if !utf8.ValidString(clientID) || !utf8.ValidString(dnsName) || !utf8.ValidString(group) || !utf8.ValidString(protocol) {
			// Cookies carry text read from XML, always UTF-8; JSON would
			// replace invalid bytes.
			return
		}
		at := time.Unix(unix, nanos%1_000_000_000).UTC()
		var gs []string
		for range groups % 4 {
			gs = append(gs, group)
		}
		sess := Session{ServerID: uuid.NewSHA1(uuid.Nil, []byte(clientID)), ClientID: clientID, Groups: gs, IssuedAt: at,
			Expires: at.Add(time.Hour), ProtocolVersion: protocol, ConfigChanged: at.Add(-time.Minute), SyncAnchor: at.Add(-time.Second)}
		sealed, err := s.SealSession(sess)
		if err != nil {
			// JSON holds the years 0-9999 only: a time beyond cannot be
			// sealed, any other can.
			if inJSONRange(sess.IssuedAt, sess.Expires, sess.ConfigChanged, sess.SyncAnchor) {
				t.Fatalf("SealSession(%+v): %v", sess, err)
			}
			return
		}
		got, err := s.OpenSession(sealed)
		if err != nil {
			t.Fatalf("a sealed session does not open: %v", err)
		}
		if !reflect.DeepEqual(normalizeSession(got), normalizeSession(sess)) {
			t.Fatalf("session round trip:\n got %+v\nwant %+v", got, sess)
		}
		if _, err := s.OpenAuth(sealed); !errors.Is(err, ErrInvalid) {
			t.Fatalf("a session cookie opened as an authorization cookie: %v", err)
		}
		for _, i := range []int{0, len(sealed) / 2, len(sealed) - 1} {
			tampered := bytes.Clone(sealed)
			tampered[i] ^= 0x01
			if _, err := s.OpenSession(tampered); !errors.Is(err, ErrInvalid) {
				t.Fatalf("a session with byte %d flipped opened: %v", i, err)
			}
		}

		auth := Auth{ServerID: sess.ServerID, ClientID: clientID, DNSName: dnsName, Groups: gs, IssuedAt: at, Expires: at.Add(8 * time.Hour)}
		sealedAuth, err := s.SealAuth(auth)
		if err != nil {
			if inJSONRange(auth.IssuedAt, auth.Expires) {
				t.Fatalf("SealAuth(%+v): %v", auth, err)
			}
			return
		}
		gotAuth, err := s.OpenAuth(sealedAuth)
		if err != nil || !reflect.DeepEqual(normalizeAuth(gotAuth), normalizeAuth(auth)) {
			t.Fatalf("authorization round trip:\n got %+v, %v\nwant %+v", gotAuth, err, auth)
		}
		if _, err := s.OpenSession(sealedAuth); !errors.Is(err, ErrInvalid) {
			t.Fatalf("an authorization cookie opened as a session: %v", err)
		}
	})
}

// inJSONRange reports whether every time is in the years 0-9999 that
// time.Time's JSON form holds.
func inJSONRange(times ...time.Time) bool {
	for _, t := range times {
		if y := t.Year(); y < 0 || y > 9999 {
			return false
		}
	}
	return true
}
