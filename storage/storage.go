// Package storage is the blob store that holds the payload files of updates,
// content-addressed by SHA-1, plus its filesystem implementation (FS); the
// S3 implementation is package storage/s3store, and both pass the
// conformance suite in storage/blobtest.
//
// BlobStore is the contract shared by every consumer (the /Content/ handler,
// the importer that stores payloads, content verify and gc that list them).
// It is deliberately small and maps onto S3 one-to-one: Stat is HEAD,
// OpenRange is a ranged GET, Put streams to an object that becomes visible
// only after its digests were checked, Delete is idempotent like S3
// DeleteObject, List pages through every object. No method buffers a whole
// object in memory.
//
// # Keys
//
// A key is a slash-separated relative path of 1 to 1024 bytes whose segments
// are 1 to 255 bytes long, use only the characters [A-Za-z0-9._-] and do not
// start with a dot (dot names are reserved for a store's temporary objects). CheckKey
// enforces this, so no key can climb out of a filesystem store's directory or
// name one of its temporary files.
//
// Payload files are stored under KeyForSHA1: "<xx>/<sha1>", where <sha1> is
// the lower-case hex SHA-1 of the file and <xx> its last two hex characters,
// the same fan-out WSUS uses for its Content folders (MS-WUSP.md section 6.5).
package storage

import (
	"bytes"
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"path"
	"strings"
	"time"
)

// Errors the stores return, always wrapped with context; test with errors.Is.
var (
	// ErrNotFound means no object is stored at the key.
	ErrNotFound = errors.New("object not found")
	// ErrDigestMismatch means the bytes given to Put do not have the expected
	// digests; nothing was stored.
	ErrDigestMismatch = errors.New("digest mismatch")
	// ErrInvalidKey means the key breaks the rules in the package comment.
	ErrInvalidKey = errors.New("invalid key")
	// ErrInvalidRange means OpenRange was asked for bytes outside the object.
	ErrInvalidRange = errors.New("invalid range")
)

// ObjectInfo describes one stored object.
type ObjectInfo struct {
	// Key is the object's key.
	Key string
	// Size is the object's length in bytes.
	Size int64
	// ModTime is when the object was last written; the /Content/ handler sends
	// it as Last-Modified.
	ModTime time.Time
	// ETag is a complete, quoted, strong HTTP entity-tag (`"..."`), ready to
	// be sent as the ETag header. It stays the same while the object is
	// untouched (across restarts too) and changes when Put rewrites it.
	ETag string
}

// Digests are the digests Put expects the stored bytes to have.
type Digests struct {
	// SHA1 is required: 20 bytes (catalog File.SHA1, the metadata FileDigest).
	SHA1 []byte
	// SHA256 is checked when not empty: 32 bytes (the AdditionalDigest).
	SHA256 []byte
}

// BlobStore stores immutable objects under keys. Implementations are safe for
// concurrent use.
type BlobStore interface {
	// Stat describes the object at key; the error wraps ErrNotFound when
	// there is none.
	Stat(ctx context.Context, key string) (ObjectInfo, error)
	// OpenRange opens length bytes of the object at key starting at offset;
	// length -1 means up to the end. A length reaching past the end is cut
	// at the end; an offset beyond the end (or negative numbers) is an
	// error wrapping ErrInvalidRange. The error wraps ErrNotFound when there
	// is no object. The caller closes the reader. A reader may fail mid-way
	// (network stores do): callers must check that they got every byte.
	OpenRange(ctx context.Context, key string, offset, length int64) (io.ReadCloser, error)
	// Put stores everything read from r at key. It streams r into a
	// temporary object, checks want (SHA-1 always, SHA-256 when given) and
	// only then makes the object visible at key, replacing any object there.
	// On a mismatch the error wraps ErrDigestMismatch and nothing is left
	// behind: the previous object at key, if any, is untouched.
	Put(ctx context.Context, key string, r io.Reader, want Digests) (ObjectInfo, error)
	// Delete removes the object at key. Deleting an absent key is not an
	// error (as with S3 DeleteObject).
	Delete(ctx context.Context, key string) error
	// List calls fn for every stored object, in no particular order, and
	// stops at the first error fn returns, returning it wrapped.
	List(ctx context.Context, fn func(ObjectInfo) error) error
}

// Longest key (S3's limit) and key segment (file name limit) CheckKey accepts.
const (
	maxKeyLen     = 1024
	maxSegmentLen = 255
)

// CheckKey reports whether key follows the rules in the package comment. The
// error wraps ErrInvalidKey.
func CheckKey(key string) error {
	if key == "" || len(key) > maxKeyLen {
		return fmt.Errorf("storage: key %q: length must be 1 to %d bytes: %w", key, maxKeyLen, ErrInvalidKey)
	}
	for seg := range strings.SplitSeq(key, "/") {
		if seg == "" || seg[0] == '.' || len(seg) > maxSegmentLen {
			return fmt.Errorf("storage: key %q: empty, dot-prefixed or too long segment: %w", key, ErrInvalidKey)
		}
		for i := 0; i < len(seg); i++ {
			if !keyByte(seg[i]) {
				return fmt.Errorf("storage: key %q: character %q not allowed: %w", key, seg[i], ErrInvalidKey)
			}
		}
	}
	return nil
}

func keyByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '.' || c == '_' || c == '-'
}

// KeyForSHA1 returns the key of the payload file with that 20-byte SHA-1:
// "<xx>/<sha1>", lower-case hex, <xx> being the last two hex characters, e.g.
// "49/a379d5526fb3a7a0423da1cd7fc3182a8d448449". For a digest of any other
// length it returns "", which every store rejects with ErrInvalidKey.
func KeyForSHA1(sum []byte) string {
	if len(sum) != sha1.Size {
		return ""
	}
	h := hex.EncodeToString(sum)
	return h[38:] + "/" + h
}

// ContentPath is the URL path a WSUS serves a payload file under:
// /Content/<last two hex digits>/<SHA-1 in upper-case hex><extension of the
// file name> (MS-WUSP.md section 6.5; MS-WSUSSS.md section 5, as a real WSUS
// serves its downstream servers).
func ContentPath(sha1 []byte, fileName string) string {
	h := strings.ToUpper(hex.EncodeToString(sha1))
	return "/Content/" + h[len(h)-2:] + "/" + h + path.Ext(fileName)
}

// SHA1FromKey is the inverse of KeyForSHA1: it returns the digest a payload
// key names, or an error wrapping ErrInvalidKey when key is not in the
// KeyForSHA1 layout (for instance a foreign object met while listing).
func SHA1FromKey(key string) ([]byte, error) {
	dir, name, ok := strings.Cut(key, "/")
	if ok && len(name) == 40 && strings.ToLower(name) == name {
		if sum, err := hex.DecodeString(name); err == nil && dir == name[38:] {
			return sum, nil
		}
	}
	return nil, fmt.Errorf("storage: key %q is not a SHA-1 key: %w", key, ErrInvalidKey)
}

// Verifier hashes the bytes written to it and checks them against expected
// digests. Stores use it in Put; it is exported so that every implementation
// checks digests the same way.
type Verifier struct {
	want   Digests
	sha1   hash.Hash
	sha256 hash.Hash // nil when want.SHA256 is empty
	n      int64
}

// NewVerifier returns a Verifier for want, or an error when want.SHA1 is not
// 20 bytes or a non-empty want.SHA256 is not 32 bytes. Its errors, like
// Verify's, carry no key: the caller wraps them.
func NewVerifier(want Digests) (*Verifier, error) {
	if len(want.SHA1) != sha1.Size {
		return nil, fmt.Errorf("expected SHA-1 must be %d bytes, got %d", sha1.Size, len(want.SHA1))
	}
	v := &Verifier{want: want, sha1: sha1.New()}
	switch len(want.SHA256) {
	case 0:
	case sha256.Size:
		v.sha256 = sha256.New()
	default:
		return nil, fmt.Errorf("expected SHA-256 must be %d bytes, got %d", sha256.Size, len(want.SHA256))
	}
	return v, nil
}

// Write hashes p; it never fails.
func (v *Verifier) Write(p []byte) (int, error) {
	v.sha1.Write(p)
	if v.sha256 != nil {
		v.sha256.Write(p)
	}
	v.n += int64(len(p))
	return len(p), nil
}

// Verify checks the bytes written so far; the error wraps ErrDigestMismatch.
func (v *Verifier) Verify() error {
	if got := v.sha1.Sum(nil); !bytes.Equal(got, v.want.SHA1) {
		return fmt.Errorf("SHA-1 of %d bytes is %x, want %x: %w", v.n, got, v.want.SHA1, ErrDigestMismatch)
	}
	if v.sha256 != nil {
		if got := v.sha256.Sum(nil); !bytes.Equal(got, v.want.SHA256) {
			return fmt.Errorf("SHA-256 of %d bytes is %x, want %x: %w", v.n, got, v.want.SHA256, ErrDigestMismatch)
		}
	}
	return nil
}
