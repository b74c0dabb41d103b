package clientsim

import (
	"bytes"
	"fmt"
	"slices"
)

// A SyncUpdates body differs between the calls of one agent only in the
// cookie and the id arrays. buildSyncUpdates (etree) is the reference; a
// syncSkeleton is its output for placeholder values, cut at the
// placeholders, so that a request carrying tens of thousands of cached ids
// is assembled by copying instead of building and serializing an element per
// id. The output is byte-for-byte that of buildSyncUpdates
// (TestSyncSkeletonMatchesBuild).

// Placeholders: cookie texts etree writes unescaped, and sentinel ids no
// server assigns (revision ids are positive).
const (
	holeExpiration = "CLIENTSIM-HOLE-EXPIRATION"
	holeEncrypted  = "CLIENTSIM-HOLE-ENCRYPTED-DATA"
	sentinelIDs    = -1000000001 // InstalledNonLeafUpdateIDs
	sentinelCached = -1000000002 // OtherCachedUpdateIDs or CachedDriverIDs
)

// skeletonKey selects a skeleton: the pass, and which id arrays are present
// (the native agent omits empty ones).
type skeletonKey struct {
	driver, installed, cached bool
}

type holeKind int

const (
	holeKindExpiration holeKind = iota
	holeKindEncrypted
	holeKindInstalled
	holeKindCached
)

// syncSkeleton is a SyncUpdates body cut at its holes: parts[i] precedes
// holes[i], and the last part follows the last hole.
type syncSkeleton struct {
	parts [][]byte
	holes []holeKind
}

// newSyncSkeleton builds the skeleton of key for the server base URL.
func newSyncSkeleton(key skeletonKey, server string) (*syncSkeleton, error) {
	r := syncRequest{Driver: key.driver, Cookie: cookie{Expiration: holeExpiration, EncryptedData: holeEncrypted}, Server: server}
	if key.installed {
		r.InstalledNonLeaf = []int{sentinelIDs}
	}
	if key.cached {
		if key.driver {
			r.CachedDrivers = []int{sentinelCached}
		} else {
			r.OtherCached = []int{sentinelCached}
		}
	}
	body, err := buildSyncUpdates(r)
	if err != nil {
		return nil, err
	}
	type hole struct {
		at   int
		mark []byte
		kind holeKind
	}
	marks := []hole{
		{mark: []byte(holeExpiration), kind: holeKindExpiration},
		{mark: []byte(holeEncrypted), kind: holeKindEncrypted},
	}
	if key.installed {
		marks = append(marks, hole{mark: fmt.Appendf(nil, "<int>%d</int>", sentinelIDs), kind: holeKindInstalled})
	}
	if key.cached {
		marks = append(marks, hole{mark: fmt.Appendf(nil, "<int>%d</int>", sentinelCached), kind: holeKindCached})
	}
	for i, m := range marks {
		if bytes.Count(body, m.mark) != 1 {
			return nil, fmt.Errorf("SyncUpdates skeleton: placeholder %s found %d times", m.mark, bytes.Count(body, m.mark))
		}
		marks[i].at = bytes.Index(body, m.mark)
	}
	slices.SortFunc(marks, func(a, b hole) int { return a.at - b.at })
	sk := &syncSkeleton{}
	last := 0
	for _, m := range marks {
		sk.parts = append(sk.parts, body[last:m.at])
		sk.holes = append(sk.holes, m.kind)
		last = m.at + len(m.mark)
	}
	sk.parts = append(sk.parts, body[last:])
	return sk, nil
}

// render fills the holes; installed and cached are <int> element sequences.
func (sk *syncSkeleton) render(c cookie, installed, cached []byte) []byte {
	n := len(c.Expiration) + len(c.EncryptedData) + len(installed) + len(cached)
	for _, p := range sk.parts {
		n += len(p)
	}
	b := make([]byte, 0, n)
	for i, h := range sk.holes {
		b = append(b, sk.parts[i]...)
		switch h {
		case holeKindExpiration:
			b = append(b, c.Expiration...)
		case holeKindEncrypted:
			b = append(b, c.EncryptedData...)
		case holeKindInstalled:
			b = append(b, installed...)
		case holeKindCached:
			b = append(b, cached...)
		}
	}
	return append(b, sk.parts[len(sk.parts)-1]...)
}

// plainText reports whether etree writes s as text unchanged: printable
// ASCII without &, < and > (base64 and xs:dateTime values always are).
func plainText(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '&' || c == '<' || c == '>' {
			return false
		}
	}
	return true
}

// syncBody returns the SyncUpdates body of the driver or software pass with
// the session's cookie and cache.
func (s *session) syncBody(driver bool) ([]byte, error) {
	c := &s.cache
	cached := &c.other
	if driver {
		cached = &c.drivers
	}
	if !plainText(s.cookie.Expiration) || !plainText(s.cookie.EncryptedData) {
		// Needs escaping: let etree do it.
		r := syncRequest{Driver: driver, Cookie: s.cookie, Server: s.server, InstalledNonLeaf: c.installed.ids}
		if driver {
			r.CachedDrivers = cached.ids
		} else {
			r.OtherCached = cached.ids
		}
		return buildSyncUpdates(r)
	}
	key := skeletonKey{driver: driver, installed: len(c.installed.ids) > 0, cached: len(cached.ids) > 0}
	sk := s.skeletons[key]
	if sk == nil {
		var err error
		if sk, err = newSyncSkeleton(key, s.server); err != nil {
			return nil, err
		}
		s.skeletons[key] = sk
	}
	return sk.render(s.cookie, c.installed.rendered(), cached.rendered()), nil
}
