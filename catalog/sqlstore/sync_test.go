package sqlstore_test

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"wsus/catalog"
	"wsus/catalog/sqlstore"
)

// TestBeginSyncRunReplicas races BeginSyncRun across several stores over
// one database, as replicas of the server would: exactly one run begins,
// every other caller gets catalog.ErrConflict. It races twice: on an empty
// history, and once the winner's lease has passed, when every racer also
// tries to mark the abandoned run failed. The racers of a round do not all
// run at once (the lock serializes them), so a round's lease outlasts the
// round: the second round's is shorter than the pause before it, so the
// first run is past it, and long enough that the second winner is not.
func TestBeginSyncRunReplicas(t *testing.T) {
	const (
		replicas   = 4
		perReplica = 8
		pause      = 1500 * time.Millisecond
		lease      = time.Second
	)
	for _, e := range engines() {
		t.Run(e.name, func(t *testing.T) {
			where := e.fresh(t)
			stores := make([]*sqlstore.Store, replicas)
			for i := range stores {
				stores[i] = e.open(t, where)
				t.Cleanup(func() { stores[i].Close() })
			}
			race := func(round string, lease time.Duration) catalog.SyncRun {
				t.Helper()
				var (
					wg    sync.WaitGroup
					mu    sync.Mutex
					won   []catalog.SyncRun
					start = make(chan struct{})
				)
				for i := range replicas * perReplica {
					s := stores[i%replicas]
					wg.Add(1)
					go func() {
						defer wg.Done()
						<-start
						r, err := s.BeginSyncRun(t.Context(), catalog.SyncRun{Trigger: "schedule",
							Holder: fmt.Sprintf("replica-%d/%d", i%replicas, i)}, lease)
						switch {
						case err == nil:
							mu.Lock()
							won = append(won, r)
							mu.Unlock()
						case !errors.Is(err, catalog.ErrConflict):
							t.Errorf("%s: racer %d: %v, want success or a conflict", round, i, err)
						}
					}()
				}
				close(start)
				wg.Wait()
				if len(won) != 1 {
					t.Fatalf("%s: %d racers began a run, want exactly 1: %+v", round, len(won), won)
				}
				return won[0]
			}

			first := race("empty history", time.Hour)
			time.Sleep(pause)
			second := race("after the lease", lease)
			runs, err := stores[0].SyncRuns(t.Context(), 0)
			if err != nil {
				t.Fatal(err)
			}
			if len(runs) != 2 || runs[0].ID != second.ID || runs[1].ID != first.ID ||
				runs[0].State != catalog.SyncRunning || runs[1].State != catalog.SyncFailed {
				t.Errorf("runs after the races: %+v; want run %d running, then %d failed", runs, second.ID, first.ID)
			}
			if _, err := stores[1].UpdateSyncRun(t.Context(), first); !errors.Is(err, catalog.ErrConflict) {
				t.Errorf("UpdateSyncRun of the abandoned run: %v, want a conflict", err)
			}
		})
	}
}
