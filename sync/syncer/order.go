package syncer

import (
	"github.com/google/uuid"

	"wsus/catalog"
	"wsus/sync/wsusss"
)

// order decides when fetched revisions are stored: a revision waits until
// every revision it depends on that the same list names is stored, or
// stored with it. It depends on its bundle members (exact revisions) and on
// the updates of its prerequisites (any revision). Revisions the list does
// not name are not waited for: either they are stored already, or the
// upstream did not offer them and waiting would not bring them.
//
// Answers arrive in any order (several GetUpdateData calls run at once), so
// a bundle may arrive before its members. What waits is held in memory up
// to maxPending bytes of documents; past that, the oldest waiting revisions
// are stored anyway, in arrival order, so that memory stays bounded
// whatever the upstream's order.
type order struct {
	// open are the listed revisions not yet released; openUpdates counts
	// them per update.
	open        map[catalog.Identity]bool
	openUpdates map[uuid.UUID]int
	// pending waits, in arrival order; released is ready to store, in the
	// order to store it (a revision is released after what it waits for).
	pending      []*catalog.Revision
	pendingBytes int64
	maxPending   int64
	released     []*catalog.Revision
}

// newOrder returns the order of a list whose revisions not yet stored are
// want.
func newOrder(want []wsusss.UpdateIdentity, maxPending int64) *order {
	o := &order{maxPending: maxPending, open: make(map[catalog.Identity]bool, len(want)), openUpdates: map[uuid.UUID]int{}}
	for _, id := range want {
		k := catalog.Identity{UpdateID: id.UpdateID, RevisionNumber: id.RevisionNumber}
		if !o.open[k] {
			o.open[k] = true
			o.openUpdates[id.UpdateID]++
		}
	}
	return o
}

// add queues fetched revisions.
func (o *order) add(revs []*catalog.Revision) {
	for _, r := range revs {
		o.pending = append(o.pending, r)
		o.pendingBytes += revisionBytes(r)
	}
	o.release()
}

// revisionBytes estimates the memory a parsed revision holds.
func revisionBytes(r *catalog.Revision) int64 {
	n := len(r.SourceXML) + len(r.CoreXML) + len(r.ExtendedXML)
	for _, s := range r.Localized {
		n += len(s)
	}
	for _, s := range r.Eulas {
		n += len(s)
	}
	return int64(n)
}

// waits reports whether r depends on a listed revision not yet released.
// A prerequisite waits for every listed revision of its update (the
// client needs one installed; which one is the client's choice).
func (o *order) waits(r *catalog.Revision) bool {
	for _, m := range r.BundledUpdates {
		if o.open[m] {
			return true
		}
	}
	for _, c := range r.Prerequisites {
		if c.IsCategory {
			continue // categories are stored in an earlier phase
		}
		for _, u := range c.UpdateIDs {
			if u != r.UpdateID && o.openUpdates[u] > 0 {
				return true
			}
		}
	}
	return false
}

// release moves every pending revision that no longer waits to released,
// repeating while that frees others.
func (o *order) release() {
	for moved := true; moved; {
		moved = false
		kept := o.pending[:0]
		for _, r := range o.pending {
			if o.waits(r) {
				kept = append(kept, r)
				continue
			}
			o.choose(r)
			moved = true
		}
		clear(o.pending[len(kept):])
		o.pending = kept
	}
	// Bound memory: release the oldest waiting ones past the limit.
	for o.pendingBytes > o.maxPending && len(o.pending) > 0 {
		r := o.pending[0]
		o.pending[0] = nil
		o.pending = o.pending[1:]
		o.choose(r)
	}
}

func (o *order) choose(r *catalog.Revision) {
	o.pendingBytes -= revisionBytes(r)
	if o.open[r.Identity] {
		delete(o.open, r.Identity)
		o.openUpdates[r.UpdateID]--
	}
	o.released = append(o.released, r)
}

// ready returns up to n released revisions to store now, in order: only
// once n are released, unless final, when it returns what is left, the
// revisions still waiting included (what they wait for never came).
func (o *order) ready(n int, final bool) []*catalog.Revision {
	if final {
		for _, r := range o.pending {
			o.choose(r)
		}
		o.pending = nil
	}
	if len(o.released) == 0 || len(o.released) < n && !final {
		return nil
	}
	k := min(n, len(o.released))
	out := o.released[:k:k]
	o.released = o.released[k:]
	return out
}
