package main

import (
	"context"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"wsus/catalog"
)

// viewsServer is newServer with an error code on the failure, a needed
// driver, an approval for Pilot and the computer assigned to Pilot.
func viewsServer(t *testing.T) *server {
	t.Helper()
	s := newServer(t)
	ctx := context.Background()
	if err := s.store.SetStatuses(ctx, clientID, []catalog.UpdateStatus{
		{ClientID: clientID, UpdateID: softwareID, State: catalog.StateFailed, ErrorCode: -2145124318},
		{ClientID: clientID, UpdateID: driverID, State: catalog.StateNotInstalled},
	}, true, t1); err != nil {
		t.Fatal(err)
	}
	if _, err := s.store.SetApproval(ctx, catalog.Approval{UpdateID: softwareID, GroupID: pilotID, Action: catalog.ActionInstall, By: "test"}); err != nil {
		t.Fatal(err)
	}
	if err := s.store.SetComputerGroups(ctx, clientID, []uuid.UUID{pilotID}); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestViewCommands(t *testing.T) {
	s := viewsServer(t)
	sw := softwareID.String()
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"updates", "--sort", "title"}, lines(
			"UPDATE ID                             KB         CLASSIFICATION  SEVERITY  NEEDED  INSTALLED  FAILED  APPROVED FOR  DECLINED  TITLE",
			"11111111-1111-4111-8111-111111111111  KB5050001  -               -         0       0          1       Pilot         no        2026-03 Cumulative Update",
			"22222222-2222-4222-8222-222222222222  -          -               -         1       0          0       -             no        Contoso Net driver",
		)},
		{[]string{"updates", "--search", "kb5050001"}, lines(
			"UPDATE ID                             KB         CLASSIFICATION  SEVERITY  NEEDED  INSTALLED  FAILED  APPROVED FOR  DECLINED  TITLE",
			"11111111-1111-4111-8111-111111111111  KB5050001  -               -         0       0          1       Pilot         no        2026-03 Cumulative Update",
		)},
		{[]string{"updates", "--sort", "title", "--limit", "1", "--offset", "1"}, lines(
			"UPDATE ID                             KB  CLASSIFICATION  SEVERITY  NEEDED  INSTALLED  FAILED  APPROVED FOR  DECLINED  TITLE",
			"22222222-2222-4222-8222-222222222222  -   -               -         1       0          0       -             no        Contoso Net driver",
			"(rows 2-2 of 2; see --offset and --limit)",
		)},
		{[]string{"updates", "--product", "Windows 11", "--group", "pilot", "--approved"}, lines(
			"UPDATE ID                             KB         CLASSIFICATION  SEVERITY  NEEDED  INSTALLED  FAILED  APPROVED FOR  DECLINED  TITLE",
			"11111111-1111-4111-8111-111111111111  KB5050001  -               -         0       0          1       Pilot         no        2026-03 Cumulative Update",
		)},
		{[]string{"updates", "--offset", "9"}, lines(
			"UPDATE ID  KB  CLASSIFICATION  SEVERITY  NEEDED  INSTALLED  FAILED  APPROVED FOR  DECLINED  TITLE",
			"(no rows from offset 9: 2 in all)",
		)},
		{[]string{"update", "KB5050001"}, lines(
			"Title:           2026-03 Cumulative Update",
			"Update ID:       11111111-1111-4111-8111-111111111111 (revision 301)",
			"Type:            Software",
			"KB:              KB5050001",
			"Products:        Windows 11",
			"Classification:  -",
			"MSRC severity:   -",
			"CVEs:            -",
			"Released:        2026-03-01T10:00:00Z",
			"Languages:       -",
			"Declined:        no",
			"Superseded:      no",
			"Computers:       0 needed, 0 installed, 1 failed, 0 not applicable, 0 no status",
			"",
			"Approvals:",
			"GROUP  ACTION   DEADLINE",
			"Pilot  Install  -",
		)},
		{[]string{"update-computers", sw, "--state", "failed"}, lines(
			"DNS NAME            CLIENT ID                             STATE   ERROR       CHANGED               LAST STATUS",
			"alpha.contoso.test  0f6a2b4c-0000-4000-8000-00000000000a  Failed  0x80240022  2026-03-01T10:05:00Z  2026-03-01T10:05:00Z",
		)},
		{[]string{"update-computers", "5050001", "--state", "installed"}, lines(
			"DNS NAME  CLIENT ID  STATE  ERROR  CHANGED  LAST STATUS",
		)},
		{[]string{"computers", "--failing", "--sort", "failed"}, lines(
			"ID                                    DNS NAME            OS VERSION  GROUPS  NEEDED  INSTALLED  FAILED  LAST SYNC             LAST STATUS",
			"0f6a2b4c-0000-4000-8000-00000000000a  alpha.contoso.test  10.0.26200  Pilot   1       0          1       2026-03-01T10:05:00Z  2026-03-01T10:05:00Z",
		)},
		{[]string{"computers", "--q", "nobody"}, lines(
			"ID  DNS NAME  OS VERSION  GROUPS  NEEDED  INSTALLED  FAILED  LAST SYNC  LAST STATUS",
		)},
		{[]string{"computer-updates", "alpha", "--state", "failed"}, lines(
			"KB         STATE   ERROR       CHANGED               UPDATE ID                             TITLE",
			"KB5050001  Failed  0x80240022  2026-03-01T10:05:00Z  11111111-1111-4111-8111-111111111111  2026-03 Cumulative Update",
		)},
		{[]string{"compliance", "groups"}, lines(
			"GROUP                 COMPUTERS  NEEDING  FAILING  UP TO DATE  NOT REPORTED  NEEDED  INSTALLED  FAILED",
			"All Computers         1          1        1        0           1             1       0          1",
			"Pilot                 1          1        1        0           1             1       0          1",
			"Unassigned Computers  0          0        0        0           0             0       0          0",
		)},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			code, stdout, stderr := s.wsusctl(t, tt.args...)
			if code != 0 || stderr != "" {
				t.Fatalf("exit %d, stderr %q", code, stderr)
			}
			if stdout != tt.want {
				t.Errorf("stdout:\n%s\nwant:\n%s", stdout, tt.want)
			}
		})
	}

	// The summary; its "not reported since" date moves with the clock.
	code, stdout, stderr := s.wsusctl(t, "compliance", "--not-reported-days", "36500")
	if code != 0 || stderr != "" {
		t.Fatalf("compliance: exit %d, %s", code, stderr)
	}
	var got []string
	for _, line := range strings.Split(strings.TrimSuffix(stdout, "\n"), "\n") {
		got = append(got, strings.Join(strings.Fields(line), " "))
	}
	since := time.Now().UTC().AddDate(0, 0, -36500).Format(time.DateOnly)
	if want := []string{
		"Computers: 1", "needing updates: 1", "with failures: 1", "up to date: 0",
		"not reported since " + since + ": 0",
		"Updates: 2", "needing approval: 1", "approved: 1", "declined: 0", "superseded: 0",
		"Computer-update pairs: 1 needed, 0 installed, 1 failed, 0 not applicable",
	}; !slices.Equal(got, want) {
		t.Errorf("compliance:\n%s\nwant (spaces aside):\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// --json and --csv print the server's answer as is, to the query the flags
// make.
func TestViewCommandsPrintTheServersAnswer(t *testing.T) {
	s := viewsServer(t)
	sw := softwareID.String()
	tests := []struct {
		args []string
		path string
	}{
		{[]string{"updates", "--json", "--kb", "KB5050001", "--severity", "none", "--superseded=false", "--sort", "needed", "--desc", "--limit", "5"},
			"/api/v1/updates?kb=KB5050001&limit=5&order=desc&severity=none&sort=needed&superseded=false"},
		{[]string{"updates", "--json", "--type", "Software", "--type", "Driver", "--classification", "all", "--min-failed", "1", "--asc"},
			"/api/v1/updates?classification=all&min_failed=1&order=asc&type=Software&type=Driver"},
		{[]string{"updates", "--csv", "--declined=false", "--released-after", "2026-01-01", "--released-before", "2027-01-01", "--min-needed", "0"},
			"/api/v1/updates?declined=false&format=csv&min_needed=0&released_after=2026-01-01&released_before=2027-01-01"},
		{[]string{"--json", "update", sw}, "/api/v1/updates/" + sw},
		{[]string{"update", "--json", "kb5050001"}, "/api/v1/updates/" + sw},
		{[]string{"update-computers", "--csv", "KB5050001", "--state", "failed", "--group", "All Computers"},
			"/api/v1/updates/" + sw + "/computers?format=csv&group=All+Computers&state=failed"},
		{[]string{"update-computers", "--json", sw, "--offset", "1"}, "/api/v1/updates/" + sw + "/computers?offset=1"},
		{[]string{"update-computers", "--json", sw, "--sort", "changed", "--asc"}, "/api/v1/updates/" + sw + "/computers?order=asc&sort=changed"},
		{[]string{"computer-updates", "--json", clientID, "--sort", "kb", "--desc"}, "/api/v1/computers/" + clientID + "/updates?order=desc&sort=kb"},
		{[]string{"computers", "--json", "--needing", "--group", "Unassigned Computers", "--not-reported-days", "3", "--sort", "last_sync"},
			"/api/v1/computers?group=Unassigned+Computers&needing=true&not_reported_days=3&sort=last_sync"},
		{[]string{"computers", "--csv"}, "/api/v1/computers?format=csv"},
		{[]string{"computer-updates", "--csv", clientID}, "/api/v1/computers/" + clientID + "/updates?format=csv"},
		{[]string{"--json", "computer-updates", "alpha.contoso.test", "--state", "needed", "--state", "failed"},
			"/api/v1/computers/alpha.contoso.test/updates?state=needed&state=failed"},
		{[]string{"--json", "compliance"}, "/api/v1/compliance/summary"},
		{[]string{"compliance", "--json", "--not-reported-days", "7"}, "/api/v1/compliance/summary?not_reported_days=7"},
		{[]string{"compliance", "groups", "--csv"}, "/api/v1/compliance/groups?format=csv"},
		{[]string{"compliance", "groups", "--json"}, "/api/v1/compliance/groups"},
		{[]string{"audit", "--csv", "--limit", "5"}, "/api/v1/audit?format=csv&limit=5"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			code, stdout, stderr := s.wsusctl(t, tt.args...)
			if code != 0 || stderr != "" {
				t.Fatalf("exit %d, stderr %q", code, stderr)
			}
			want := s.rawGET(t, tt.path)
			if strings.Contains(tt.path, "format=csv") {
				if !strings.Contains(want, ",") {
					t.Fatalf("GET %s is no CSV: %s", tt.path, want)
				}
			} else {
				want = strings.TrimSuffix(want, "\n") + "\n"
			}
			// "not reported since" is relative to the server's clock.
			since := regexp.MustCompile(`"not_reported_since":"[^"]*"`)
			if since.ReplaceAllString(stdout, "") != since.ReplaceAllString(want, "") {
				t.Errorf("stdout:\n%s\nwant the server's answer:\n%s", stdout, want)
			}
		})
	}
}

func TestViewCommandErrors(t *testing.T) {
	s := viewsServer(t)
	sw := softwareID.String()
	tests := []struct {
		args   []string
		code   int
		stderr string
	}{
		{[]string{"updates", "--limit", "5000"}, 2, "updates: --limit must be 1 to 1000"},
		{[]string{"updates", "--offset", "-1"}, 2, "updates: --offset must not be negative"},
		{[]string{"updates", "--csv", "--json"}, 2, "--csv and --json exclude each other"},
		{[]string{"updates", "--desc", "--asc"}, 2, "--desc and --asc exclude each other"},
		{[]string{"updates", "extra"}, 2, "updates takes no arguments"},
		{[]string{"update"}, 2, "update wants KB|UPDATE-ID"},
		{[]string{"update", "Cumulative"}, 2, `"Cumulative" is neither an update ID nor a KB article`},
		{[]string{"update-computers", "KB"}, 2, `"KB" is neither an update ID nor a KB article`},
		{[]string{"compliance", "computers"}, 2, "compliance wants no argument (the summary) or groups"},
		{[]string{"compliance", "--csv"}, 2, "the summary has no CSV"},
		{[]string{"update", "KB999"}, 1, "no update has KB article 999"},
		{[]string{"updates", "--severity", "urgent"}, 1, `severity "urgent" is not one of Critical, Important, Moderate, Low, none (bad_query, HTTP 400)`},
		{[]string{"updates", "--product", "Nope"}, 1, `(unknown_product, HTTP 400)`},
		{[]string{"update-computers", unknownID.String()}, 1, "(unknown_update, HTTP 404)"},
		{[]string{"computer-updates", "gamma"}, 1, "(unknown_computer, HTTP 404)"},
		{[]string{"computer-updates", "alpha", "--desc", "--asc"}, 2, "computer-updates: --desc and --asc exclude each other"},
		{[]string{"computer-updates", "alpha", "--sort", "name"}, 1, `sort "name" is not one of title, kb, state, changed (bad_query, HTTP 400)`},
		{[]string{"update-computers", sw, "--sort", "title"}, 1, `sort "title" is not one of name, state, changed, last_status (bad_query, HTTP 400)`},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			code, stdout, stderr := s.wsusctl(t, tt.args...)
			if code != tt.code || !strings.Contains(stderr, tt.stderr) || stdout != "" {
				t.Errorf("exit %d, stdout %q, stderr %q; want exit %d and %q", code, stdout, stderr, tt.code, tt.stderr)
			}
		})
	}
}
