package sqlstore_test

import (
	"errors"
	"sync"
	"testing"

	"github.com/google/uuid"

	"wsus/catalog"
)

// TestConditionalWritesTwoReplicas: two stores over one database (two
// replicas) each write conditionally from the same read, many times at
// once; exactly one write of each round wins.
func TestConditionalWritesTwoReplicas(t *testing.T) {
	for _, e := range engines() {
		t.Run(e.name, func(t *testing.T) {
			where := e.fresh(t)
			a, b := e.open(t, where), e.open(t, where)
			defer a.Close()
			defer b.Close()
			ctx := t.Context()
			g := catalog.TargetGroup{ID: uuid.New(), Name: "Ring 0", ParentID: catalog.AllComputersGroupID}
			if err := a.CreateTargetGroup(ctx, g); err != nil {
				t.Fatal(err)
			}
			for round := range 10 {
				settings, err := b.SyncSettings(ctx)
				if err != nil {
					t.Fatal(err)
				}
				var errs [4]error
				var wg sync.WaitGroup
				for i, s := range []catalog.Store{a, b} {
					wg.Go(func() { errs[i] = s.RenameTargetGroupIf(ctx, g, g.Name+string(rune('a'+i))) })
					wg.Go(func() {
						next := settings
						next.SyncsPerDay = 1 + (round+i)%24
						errs[2+i] = s.SetSyncSettingsIf(ctx, settings, next)
					})
				}
				wg.Wait()
				for _, pair := range [][]error{errs[:2], errs[2:]} {
					won := 0
					for _, err := range pair {
						switch {
						case err == nil:
							won++
						case !errors.Is(err, catalog.ErrPreconditionFailed):
							t.Fatalf("round %d: %v", round, err)
						}
					}
					if won != 1 {
						t.Fatalf("round %d: %d of 2 replicas' writes from one read succeeded: %v", round, won, pair)
					}
				}
				groups, err := a.TargetGroups(ctx)
				if err != nil {
					t.Fatal(err)
				}
				for _, x := range groups {
					if x.ID == g.ID {
						g = x
					}
				}
			}
		})
	}
}
