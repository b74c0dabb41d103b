package main

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"wsus/clientsim/catalogen"
	"wsus/clientsim/load"
	"wsus/internal/testpg"
	"wsus/internal/testserver"
	"wsus/sync/importer"
)

func TestMain(m *testing.M) { os.Exit(testpg.Main(m)) }

// TestSeedThenFleetRun: after a prepare-only fleet run and fleetseed, a
// Patch Tuesday run over the seeded computers (none registered through the
// protocol) completes every scan and report, on both engines; the
// computers are in the store, the hardware only on those of the run, and
// their reports, whose earlier statuses were seeded, are acknowledged.
func TestSeedThenFleetRun(t *testing.T) {
	for _, engine := range []string{"sqlite", "postgres"} {
		t.Run(engine, func(t *testing.T) {
			ctx := context.Background()
			dir := filepath.Join(t.TempDir(), "catalog")
			if _, err := catalogen.Write(ctx, dir, catalogen.Options{Updates: 300, Seed: 3}); err != nil {
				t.Fatal(err)
			}
			var dbURL string
			if engine == "postgres" {
				dbURL = testpg.URL(t)
			}
			cfg, stores := testserver.Open(t, dbURL)
			key := make([]byte, 32)
			key[0] = 1
			cfg.CookieKey = hex.EncodeToString(key)
			if _, err := importer.Import(ctx, stores.Catalog, stores.Blobs, []string{dir}, importer.Options{ApproveGroup: "All Computers"}); err != nil {
				t.Fatal(err)
			}
			base := testserver.Serve(t, cfg, stores)

			fc := load.FleetConfig{
				ServerURL: base, Computers: 300, Seed: 6, CookieKey: key, PatchTuesday: true, PatchUpdates: 2,
				AdminToken: cfg.AdminToken, Window: 2 * time.Second, Duration: time.Second, Register: load.RegisterNone,
			}
			prep := fc
			prep.PrepareOnly = true
			if rep, err := load.RunFleet(ctx, prep); err != nil || rep.ScansStarted != 0 {
				t.Fatalf("prepare: %+v, %v", rep, err)
			}
			// Withhold the two newest updates, as bench-fleet.sh does: the
			// run approves them again.
			withhold(t, base, cfg.AdminToken, 2)

			target := []string{"-sqlite", filepath.Join(cfg.DataDir, "catalog.db")}
			if engine == "postgres" {
				target = []string{"-postgres", dbURL}
			}
			var out, errOut strings.Builder
			args := append(target, "-seed", "6", "-fleet", "300", "-duration", "1s", "-window", "2s")
			if code := run(ctx, args, &out, &errOut); code != 0 {
				t.Fatalf("fleetseed exit %d: %s", code, errOut.String())
			}
			for _, want := range []string{"computers 0 to 299 copied from the reference " + load.ReferenceID(6), "RebuildCompliance in"} {
				if !strings.Contains(out.String(), want) {
					t.Errorf("fleetseed output lacks %q:\n%s", want, out.String())
				}
			}

			rep, err := load.RunFleet(ctx, fc)
			if err != nil {
				t.Fatal(err)
			}
			if rep.Completed == 0 || rep.Completed != rep.Arrivals || rep.Failed+rep.ReportsFailed+rep.Dropped != 0 ||
				rep.ReportsAcknowledged != rep.Completed || rep.PatchTuesday.ScansMissingNew != 0 || len(rep.PatchTuesday.ExpectedNew) == 0 {
				t.Fatalf("run over the seeded fleet: %d arrivals, %d completed, %d failed, %d reports failed, %d acknowledged, Patch Tuesday %+v, errors %+v",
					rep.Arrivals, rep.Completed, rep.Failed, rep.ReportsFailed, rep.ReportsAcknowledged, rep.PatchTuesday, rep.Errors)
			}
			arrivals, err := fc.Arrivals()
			if err != nil {
				t.Fatal(err)
			}
			scanned := map[int]bool{}
			for _, a := range arrivals {
				scanned[a.Computer] = true
			}
			for i := range 300 {
				c, err := stores.Catalog.Computer(ctx, load.ComputerID(6, i))
				if err != nil || !c.Registered || c.DNSName != load.ComputerName(i) {
					t.Fatalf("computer %d: %+v, %v", i, c, err)
				}
				if (c.Hardware != nil) != scanned[i] {
					t.Errorf("computer %d (in the run: %v): hardware %v", i, scanned[i], c.Hardware != nil)
				}
			}
		})
	}
}

// withhold unapproves the n newest approved software updates.
func withhold(t *testing.T, base, token string, n int) {
	t.Helper()
	ids, err := adminGet(base, token, "/api/v1/updates?type=software&approved=true&declined=false&superseded=false&sort=released&order=desc&limit="+itoa(n))
	if err != nil || len(ids) != n {
		t.Fatalf("updates to withhold: %v, %v", ids, err)
	}
	for _, id := range ids {
		if err := adminPost(base, token, "/api/v1/approvals", `{"update_id":"`+id+`","action":"NotApproved"}`); err != nil {
			t.Fatal(err)
		}
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

// adminGet lists the update IDs of an admin API update list.
func adminGet(base, token, path string) ([]string, error) {
	req, err := http.NewRequest(http.MethodGet, base+path, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var list struct {
		Updates []struct {
			UpdateID string `json:"update_id"`
		} `json:"updates"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&list); err != nil || resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s, %v", path, resp.Status, err)
	}
	var ids []string
	for _, u := range list.Updates {
		ids = append(ids, u.UpdateID)
	}
	return ids, nil
}

// adminPost posts a JSON body to the admin API and wants a 2xx answer.
func adminPost(base, token, path, body string) error {
	req, err := http.NewRequest(http.MethodPost, base+path, strings.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("POST %s: %s", path, resp.Status)
	}
	return nil
}
