package catalog

import (
	"crypto/sha256"
	"encoding/binary"
	"hash"
	"sort"
	"time"

	"github.com/google/uuid"
)

// contentVersion names the encoding contentDigest hashes. Changing the
// encoding makes every stored revision look changed once (it is rewritten
// with the same content and keeps its ID), so bump it deliberately.
const contentVersion = "wsus-revision-v1"

// ContentDigest is the SHA-256 of everything of r a store keeps, in a
// length-prefixed encoding, the ID excepted: stores compare it to tell a
// re-import of the same revision from a changed one. Nil and empty lists
// and maps digest alike; times digest as stored, in UTC at the store's
// precision (time.Nanosecond or time.Microsecond).
func ContentDigest(r *Revision, precision time.Duration) []byte {
	layout := "2006-01-02T15:04:05.000000000Z"
	if precision == time.Microsecond {
		layout = "2006-01-02T15:04:05.000000Z"
	}
	d := digester{h: sha256.New(), precision: precision, layout: layout}
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
	h         hash.Hash
	buf       [8]byte
	precision time.Duration
	layout    string
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
	d.str(t.UTC().Truncate(d.precision).Format(d.layout))
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

// drivers adds driver metadata to the digest. Revisions without any add
// nothing, so their digests are those of before the drivers column
// existed; driver revisions imported before it digest differently now and
// are rewritten, with their driver metadata, when imported again.
func (d *digester) drivers(ds []DriverMetadata) {
	if len(ds) == 0 {
		return
	}
	d.str("drivers")
	d.int(int64(len(ds)))
	for _, m := range ds {
		for _, s := range []string{m.HardwareID, m.WhqlDriverID, m.Manufacturer, m.Provider, m.Company, m.Class, m.Model} {
			d.str(s)
		}
		d.time(m.DriverVerDate)
		d.int(int64(m.DriverVerVersion))
		d.int(int64(len(m.FeatureScores)))
		for _, fs := range m.FeatureScores {
			d.str(fs.OperatingSystem)
			d.int(int64(fs.Score))
		}
		for _, ids := range [][]uuid.UUID{m.DistributionComputerHardwareIDs, m.TargetComputerHardwareIDs} {
			d.int(int64(len(ids)))
			for _, id := range ids {
				d.uuid(id)
			}
		}
		d.int(int64(len(m.CompatibleProviders)))
		for _, p := range m.CompatibleProviders {
			d.str(p)
		}
	}
}
