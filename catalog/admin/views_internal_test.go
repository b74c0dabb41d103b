package admin

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"wsus/catalog"
)

// indexStore answers the change sequence and, slowly, the summaries, and
// counts the reads of the summaries.
type indexStore struct {
	Store
	seq   atomic.Int64
	reads atomic.Int32
	title atomic.Value // string
}

func (s *indexStore) ChangeSequence(context.Context) (int64, error) { return s.seq.Load(), nil }

func (s *indexStore) Summaries(context.Context) ([]catalog.Summary, error) {
	s.reads.Add(1)
	time.Sleep(20 * time.Millisecond)
	return []catalog.Summary{{Identity: catalog.Identity{UpdateID: indexedID, RevisionNumber: 1}, Type: catalog.TypeSoftware,
		Title: s.title.Load().(string)}}, nil
}

var indexedID = uuid.MustParse("11111111-1111-4111-8111-111111111111")

// Concurrent requests that need the index read the summaries once; a moved
// change sequence is served from the cached index (stale) unless fresh is
// asked for.
func TestCatalogIndexCache(t *testing.T) {
	store := &indexStore{}
	store.title.Store("first")
	v := &views{}
	ctx := context.Background()
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			idx, err := v.index(ctx, store, false)
			if err != nil || idx.updates[indexedID].title != "first" {
				t.Errorf("index = %+v, %v", idx, err)
			}
		}()
	}
	wg.Wait()
	if n := store.reads.Load(); n != 1 {
		t.Errorf("8 concurrent requests read the summaries %d times, want 1", n)
	}

	store.seq.Store(5) // an approval: no title changed
	store.title.Store("second")
	idx, err := v.index(ctx, store, false)
	if err != nil || !idx.stale || idx.updates[indexedID].title != "first" || store.reads.Load() != 1 {
		t.Errorf("after the sequence moved: stale %v, title %q, %d reads, %v; want the cached index, stale", idx.stale, idx.updates[indexedID].title, store.reads.Load(), err)
	}
	if idx.covers([]catalog.UpdateView{{UpdateID: indexedID, RevisionNumber: 2}}) {
		t.Error("an index without revision 2 covers it")
	}
	idx, err = v.index(ctx, store, true)
	if err != nil || idx.stale || idx.updates[indexedID].title != "second" || store.reads.Load() != 2 {
		t.Errorf("fresh: stale %v, title %q, %d reads, %v; want a rebuilt index", idx.stale, idx.updates[indexedID].title, store.reads.Load(), err)
	}
	if idx, _ = v.index(ctx, store, true); store.reads.Load() != 2 || idx.stale {
		t.Errorf("fresh again at the same sequence read the summaries again (%d reads)", store.reads.Load())
	}
}
