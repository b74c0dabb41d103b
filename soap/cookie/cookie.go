// Package cookie mints and opens the opaque cookies of the client protocol:
// the SimpleAuth authorization cookie (CookieData) and the session cookie
// (Cookie/EncryptedData). Both are self-contained and sealed with AES-256-GCM
// under a key every replica shares, so any replica can open a cookie any other
// minted and servers keep no session state (MS-WUSP.md section 4).
package cookie

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
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

// Sealer seals and opens cookies with one key.
type Sealer struct {
	aead cipher.AEAD
}

// NewSealer returns a Sealer for a KeySize-byte key.
func NewSealer(key []byte) (*Sealer, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("cookie: key must be %d bytes, got %d", KeySize, len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("cookie: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("cookie: %w", err)
	}
	return &Sealer{aead: aead}, nil
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

func (s *Sealer) seal(kind []byte, v any) ([]byte, error) {
	plain, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("cookie: encode: %w", err)
	}
	nonce := make([]byte, s.aead.NonceSize(), s.aead.NonceSize()+len(plain)+s.aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("cookie: nonce: %w", err)
	}
	return s.aead.Seal(nonce, nonce, plain, kind), nil
}

func (s *Sealer) open(kind, data []byte, v any) error {
	n := s.aead.NonceSize()
	if len(data) < n+s.aead.Overhead() {
		return ErrInvalid
	}
	plain, err := s.aead.Open(nil, data[:n], data[n:], kind)
	if err != nil {
		return ErrInvalid
	}
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
