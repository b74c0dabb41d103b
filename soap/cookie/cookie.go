// Package cookie mints and opens the opaque cookies of the client protocol:
// the SimpleAuth authorization cookie (CookieData) and the session cookie
// (Cookie/EncryptedData). Both are self-contained and sealed with AES-256-GCM
// under a key every replica shares, so any replica can open a cookie any other
// minted and servers keep no session state (MS-WUSP.md section 4).
//
// The key can be rotated: a Sealer seals with its current key and also
// opens what its previous keys sealed. A cookie names the key that sealed
// it (a key ID, not the key), so a cookie sealed with a key the server does
// not hold is told apart from garbage (UnknownKeyError, LogMismatch).
package cookie

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"wsus/internal/secretfile"
)

// KeySize is the length of a cookie key: AES-256.
const KeySize = 32

// ErrInvalid is returned when a cookie cannot be opened: wrong key, another
// kind of cookie, tampered or truncated bytes.
var ErrInvalid = errors.New("cookie: invalid")

// Auth is the content of an authorization cookie (GetAuthorizationCookie).
type Auth struct {
	ServerID uuid.UUID `json:"s"`
	ClientID string    `json:"c"`
	DNSName  string    `json:"d,omitempty"`
	// Groups are the target group names the client asked for.
	Groups   []string  `json:"g,omitempty"`
	IssuedAt time.Time `json:"i"`
	Expires  time.Time `json:"e"`
}

// Session is the content of a session cookie (GetCookie, NewCookie).
type Session struct {
	ServerID uuid.UUID `json:"s"`
	ClientID string    `json:"c"`
	Groups   []string  `json:"g,omitempty"`
	IssuedAt time.Time `json:"i"`
	// Expires is also sent in clear as Cookie/Expiration; this copy is the
	// one that counts.
	Expires         time.Time `json:"e"`
	ProtocolVersion string    `json:"p,omitempty"`
	// ConfigChanged is the Config LastChange the cookie was issued under.
	ConfigChanged time.Time `json:"l"`
	// SyncAnchor is the newest deployment change already delivered to the
	// client; SyncUpdates reports later changes in ChangedUpdates.
	SyncAnchor time.Time `json:"a,omitzero"`
	// AnchorGroups is the client's target group set (scan.ResolveGroups)
	// when it got SyncAnchor: a change of groups changes deployments older
	// than the anchor. Empty in cookies minted before it was kept.
	AnchorGroups []uuid.UUID `json:"ag,omitempty"`
	// ChangedAfter, ChangedUntil and ChangedKey carry a ChangedUpdates pass
	// that did not fit one SyncUpdates answer to the next round
	// (scan.ChangedPass); zero when there is none.
	ChangedAfter int32     `json:"ca,omitzero"`
	ChangedUntil time.Time `json:"cu,omitzero"`
	ChangedKey   uint64    `json:"ck,omitzero"`
}

// Sealer seals cookies with one key and opens them with that key or any of
// the previous keys it was given (cookie-key rotation: a key replaced keeps
// opening the cookies it sealed until they expire, so no client has to
// authenticate again).
//
// Framing: a cookie is
//
//	version (1 byte, 1) | key ID (4 bytes) | nonce (12) | AES-256-GCM ciphertext and tag (16)
//
// with the version, key ID and cookie kind as additional data. The key ID
// (KeyID) names the key that sealed the cookie, so a cookie no configured
// key opens can be told apart from garbage: UnknownKeyError.
//
// Cookies sealed before the key ID was added (nonce | ciphertext, the kind
// alone as additional data) still open with any held key, until they
// expire (an authorization cookie lasts 8 hours at most); such a cookie that
// no key opens is ErrInvalid.
type Sealer struct {
	keys []sealKey // keys[0] seals; all open
}

// sealKey is one key with its ID.
type sealKey struct {
	id   [keyIDSize]byte
	aead cipher.AEAD
}

const (
	// frameVersion is the first byte of a cookie sealed with its key ID.
	frameVersion = 1
	// keyIDSize is the length of a key ID.
	keyIDSize = 4
	// headerSize is the version and the key ID.
	headerSize = 1 + keyIDSize
)

// UnknownKeyError is the error of opening a cookie in this package's
// framing whose key ID names a key the Sealer does not hold: almost always
// a replica configured with another cookie key, or a key rotated without
// keeping the old one as a previous key. errors.Is(err, ErrInvalid) holds.
type UnknownKeyError struct {
	// KeyID is the key ID the cookie names (8 hex digits); it identifies a
	// key without revealing it (see KeyID).
	KeyID string
}

func (e *UnknownKeyError) Error() string {
	return "cookie: invalid: sealed with cookie key " + e.KeyID + ", which this server does not hold"
}

// Is makes an UnknownKeyError an ErrInvalid.
func (e *UnknownKeyError) Is(target error) bool { return target == ErrInvalid }

// NewSealer returns a Sealer that seals with key and opens cookies sealed
// with key or any of previous; every key is KeySize bytes. A previous key
// equal to key, or given twice, counts once.
func NewSealer(key []byte, previous ...[]byte) (*Sealer, error) {
	s := &Sealer{}
	for i, k := range append([][]byte{key}, previous...) {
		if len(k) != KeySize {
			if i == 0 {
				return nil, fmt.Errorf("cookie: key must be %d bytes, got %d", KeySize, len(k))
			}
			return nil, fmt.Errorf("cookie: previous key %d: must be %d bytes, got %d", i, KeySize, len(k))
		}
		block, err := aes.NewCipher(k)
		if err != nil {
			return nil, fmt.Errorf("cookie: %w", err)
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, fmt.Errorf("cookie: %w", err)
		}
		id := keyID(k)
		if slices.ContainsFunc(s.keys, func(h sealKey) bool { return h.id == id }) {
			continue
		}
		s.keys = append(s.keys, sealKey{id: id, aead: aead})
	}
	return s, nil
}

// keyID derives the 4-byte ID of a key: the start of a SHA-256 of it under
// a label of its own, which says which key sealed a cookie and nothing
// about the key.
func keyID(key []byte) [keyIDSize]byte {
	sum := sha256.Sum256(append([]byte("wsus cookie key id\x00"), key...))
	return [keyIDSize]byte(sum[:keyIDSize])
}

// KeyID returns the ID of a key as 8 hex digits, the text
// UnknownKeyError.KeyID and Sealer.KeyIDs give: operators compare it across
// replicas without showing the key.
func KeyID(key []byte) string {
	id := keyID(key)
	return hex.EncodeToString(id[:])
}

// KeyIDs returns the IDs of the keys the Sealer holds (see KeyID), the one
// that seals first.
func (s *Sealer) KeyIDs() []string {
	ids := make([]string, len(s.keys))
	for i, k := range s.keys {
		ids[i] = hex.EncodeToString(k.id[:])
	}
	return ids
}

// The kind of a cookie is bound as additional data, so an authorization
// cookie never opens as a session cookie or the reverse.
var (
	kindAuth    = []byte("wsus-auth-v1")
	kindSession = []byte("wsus-session-v1")
)

// SealAuth returns the sealed bytes of a.
func (s *Sealer) SealAuth(a Auth) ([]byte, error) { return s.seal(kindAuth, a) }

// OpenAuth opens an authorization cookie.
func (s *Sealer) OpenAuth(data []byte) (Auth, error) {
	var a Auth
	return a, s.open(kindAuth, data, &a)
}

// SealSession returns the sealed bytes of c.
func (s *Sealer) SealSession(c Session) ([]byte, error) { return s.seal(kindSession, c) }

// OpenSession opens a session cookie.
func (s *Sealer) OpenSession(data []byte) (Session, error) {
	var c Session
	return c, s.open(kindSession, data, &c)
}

// Seal returns the sealed bytes of v, a cookie of another kind than the
// client protocol's, named by purpose ("console-session-v1"): a cookie
// sealed for one purpose opens for no other, nor as an authorization or
// session cookie. v is encoded as JSON.
func (s *Sealer) Seal(purpose string, v any) ([]byte, error) {
	return s.seal(purposeKind(purpose), v)
}

// Open opens a cookie Seal sealed for purpose into v (a pointer).
func (s *Sealer) Open(purpose string, data []byte, v any) error {
	return s.open(purposeKind(purpose), data, v)
}

// purposeKind is the kind of a purpose's cookies; the prefix keeps it
// apart from kindAuth and kindSession.
func purposeKind(purpose string) []byte { return []byte("wsus-purpose:" + purpose) }

// seal seals v with the first key, in the framing with its key ID.
func (s *Sealer) seal(kind []byte, v any) ([]byte, error) {
	plain, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("cookie: encode: %w", err)
	}
	k := s.keys[0]
	n := k.aead.NonceSize()
	out := make([]byte, headerSize+n, headerSize+n+len(plain)+k.aead.Overhead())
	out[0] = frameVersion
	copy(out[1:headerSize], k.id[:])
	nonce := out[headerSize:]
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("cookie: nonce: %w", err)
	}
	return k.aead.Seal(out, nonce, plain, additionalData(kind, out[:headerSize])), nil
}

// additionalData binds the kind and the header of a framed cookie.
func additionalData(kind, header []byte) []byte {
	return append(slices.Clip(kind), header...)
}

// open opens data with the key its header names, else as a cookie sealed
// before key IDs with each key held. It fails with UnknownKeyError when data
// is framed, long enough, and names no key held; with ErrInvalid otherwise.
func (s *Sealer) open(kind, data []byte, v any) error {
	n, overhead := s.keys[0].aead.NonceSize(), s.keys[0].aead.Overhead()
	framed := len(data) >= headerSize+n+overhead && data[0] == frameVersion
	held := false
	if framed {
		id := [keyIDSize]byte(data[1:headerSize])
		for _, k := range s.keys {
			if k.id != id {
				continue
			}
			held = true
			body := data[headerSize:]
			if plain, err := k.aead.Open(nil, body[:n], body[n:], additionalData(kind, data[:headerSize])); err == nil {
				return decode(plain, v)
			}
		}
	}
	if len(data) >= n+overhead {
		for _, k := range s.keys {
			if plain, err := k.aead.Open(nil, data[:n], data[n:], kind); err == nil {
				return decode(plain, v)
			}
		}
	}
	if framed && !held {
		return &UnknownKeyError{KeyID: hex.EncodeToString(data[1:headerSize])}
	}
	return ErrInvalid
}

// decode reads the JSON of an opened cookie.
func decode(plain []byte, v any) error {
	if err := json.Unmarshal(plain, v); err != nil {
		return ErrInvalid
	}
	return nil
}

// ParseKey decodes a hex key as given by configuration (64 hex digits).
func ParseKey(s string) ([]byte, error) {
	key, err := hex.DecodeString(strings.TrimSpace(s))
	if err != nil || len(key) != KeySize {
		return nil, fmt.Errorf("cookie: key must be %d hex digits", 2*KeySize)
	}
	return key, nil
}

// LoadOrCreateKey reads the hex key stored at path, creating it (mode 0600)
// with a fresh random key when the file does not exist.
func LoadOrCreateKey(path string) ([]byte, error) {
	s, err := secretfile.LoadOrCreate(path, func() (string, error) {
		key := make([]byte, KeySize)
		if _, err := rand.Read(key); err != nil {
			return "", err
		}
		return hex.EncodeToString(key), nil
	})
	if err != nil {
		return nil, fmt.Errorf("cookie: key: %w", err)
	}
	key, err := ParseKey(s)
	if err != nil {
		return nil, fmt.Errorf("cookie: key file %s: %w", path, err)
	}
	return key, nil
}

// ParseKeyList decodes keys given as one configuration value (the previous
// cookie keys): 64 hex digits each, separated by commas, white space around
// each ignored, empty entries skipped. An error names the key by position.
func ParseKeyList(s string) ([][]byte, error) {
	var keys [][]byte
	for i, part := range strings.Split(s, ",") {
		if strings.TrimSpace(part) == "" {
			continue
		}
		key, err := ParseKey(part)
		if err != nil {
			return nil, fmt.Errorf("cookie: key %d of the list must be %d hex digits", i+1, 2*KeySize)
		}
		keys = append(keys, key)
	}
	return keys, nil
}

// ParseKeyFile decodes the content of a file of keys (the previous cookie
// keys): one key of 64 hex digits per line; blank lines and lines starting
// with # are skipped. An error names the line.
func ParseKeyFile(text string) ([][]byte, error) {
	var keys [][]byte
	for i, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		key, err := ParseKey(line)
		if err != nil {
			return nil, fmt.Errorf("cookie: line %d: a key must be %d hex digits", i+1, 2*KeySize)
		}
		keys = append(keys, key)
	}
	return keys, nil
}

// MismatchMessage is the error line a server logs when a client sends a
// cookie sealed with a key it does not hold (UnknownKeyError): it is
// almost always a replica with another cookie key, which costs every client
// switching replicas a new authentication.
const MismatchMessage = "client cookie sealed with a cookie key this server does not hold: every replica must share --cookie-key (WSUS_COOKIE_KEY); after rotating, give the old key as --cookie-key-previous"

// mismatchErr is the "err" attribute of MismatchMessage lines: the same
// text whatever the key, so a deduplicating log handler (internal/logdedup)
// writes one line a minute however many clients send such cookies.
const mismatchErr = "cookie: sealed with a cookie key this server does not hold"

// LogMismatch logs MismatchMessage at ERROR when err is an UnknownKeyError,
// with the key ID the cookie names and the IDs of the keys s holds, and
// reports whether it did. Other errors are left to the caller.
func LogMismatch(ctx context.Context, logger *slog.Logger, s *Sealer, err error) bool {
	var uk *UnknownKeyError
	if !errors.As(err, &uk) {
		return false
	}
	logger.ErrorContext(ctx, MismatchMessage, "err", mismatchErr,
		"cookie_key_id", uk.KeyID, "held_key_ids", strings.Join(s.KeyIDs(), ","))
	return true
}
