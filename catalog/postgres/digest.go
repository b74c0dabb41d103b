package postgres

import (
	"crypto/sha256"
	"encoding/binary"
	"hash"
	"sort"
	"time"

	"github.com/google/uuid"

	"wsus/catalog"
)

// contentVersion names the encoding contentDigest hashes. Changing the
// encoding makes every stored revision look changed once (it is rewritten
// with the same content and keeps its ID), so bump it deliberately.
const contentVersion = "wsus-revision-v1"

// contentDigest is the SHA-256 of everything of r the store keeps, in a
// length-prefixed encoding, the ID excepted. Two revisions with equal digests
// are the same import; nil and empty lists and maps digest alike, and times
// digest as stored (UTC, microseconds).
//
// It follows the embedded store's digest (catalog/sqlite/hash.go) except
// for time precision; the two never meet, each store compares only its own.
func contentDigest(r *catalog.Revision) []byte {
	d := digester{h: sha256.New()}
	d.str(contentVersion)
	d.uuid(r.UpdateID)
	d.int(int64(r.RevisionNumber))
	d.str(string(r.Type))
	d.str(r.CategoryType)
	d.str(r.Title)
	d.str(r.Description)
	d.str(r.KBArticleID)
	d.str(r.PublicationState)
	d.time(r.CreationDate)
	d.int(int64(len(r.Prerequisites)))
	for _, c := range r.Prerequisites {
		d.bool(c.IsCategory)
		d.int(int64(len(c.UpdateIDs)))
		for _, id := range c.UpdateIDs {
			d.uuid(id)
		}
	}
	d.int(int64(len(r.BundledUpdates)))
	for _, b := range r.BundledUpdates {
		d.uuid(b.UpdateID)
		d.int(int64(b.RevisionNumber))
	}
	d.int(int64(len(r.SupersededUpdates)))
	for _, id := range r.SupersededUpdates {
		d.uuid(id)
	}
	d.int(int64(len(r.Files)))
	for _, f := range r.Files {
		d.bytes(f.SHA1)
		d.bytes(f.SHA256)
		d.str(f.FileName)
		d.int(f.Size)
		d.time(f.Modified)
	}
	d.str(r.CoreXML)
	d.str(r.ExtendedXML)
	d.strMap(r.Localized)
	d.strMap(r.Eulas)
	d.str(r.SourceXML)
	d.drivers(r.Drivers)
	return d.h.Sum(nil)
}

// digester writes values unambiguously into a hash.
type digester struct {
	h   hash.Hash
	buf [8]byte
}

func (d *digester) int(v int64) {
	binary.BigEndian.PutUint64(d.buf[:], uint64(v))
	d.h.Write(d.buf[:])
}

func (d *digester) bool(b bool) {
	if b {
		d.int(1)
	} else {
		d.int(0)
	}
}

func (d *digester) bytes(b []byte) {
	d.int(int64(len(b)))
	d.h.Write(b)
}

func (d *digester) str(s string) {
	d.int(int64(len(s)))
	d.h.Write([]byte(s))
}

func (d *digester) uuid(u uuid.UUID) { d.h.Write(u[:]) }

func (d *digester) time(t time.Time) {
	if t.IsZero() {
		d.str("")
		return
	}
	d.str(t.UTC().Truncate(time.Microsecond).Format("2006-01-02T15:04:05.000000Z"))
}

func (d *digester) strMap(m map[string]string) {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	d.int(int64(len(keys)))
	for _, k := range keys {
		d.str(k)
		d.str(m[k])
	}
}
