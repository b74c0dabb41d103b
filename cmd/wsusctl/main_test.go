package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"wsus/catalog"
	"wsus/catalog/admin"
	"wsus/catalog/sqlite"
)

const token = "cli-test-token"

var (
	softwareID = uuid.MustParse("11111111-1111-4111-8111-111111111111")
	driverID   = uuid.MustParse("22222222-2222-4222-8222-222222222222")
	categoryID = uuid.MustParse("33333333-3333-4333-8333-333333333333")
	pilotID    = uuid.MustParse("55555555-5555-4555-8555-555555555555")
	unknownID  = uuid.MustParse("99999999-9999-4999-8999-999999999999")
)

const clientID = "0f6a2b4c-0000-4000-8000-00000000000a"

var (
	t0 = time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	t1 = time.Date(2026, 3, 1, 10, 5, 0, 0, time.UTC)
)

// server is the real admin handler over a real sqlite store on a real
// listener.
type server struct {
	store *sqlite.Store
	srv   *httptest.Server
}

func newServer(t *testing.T) *server {
	t.Helper()
	// Hermetic: the developer's own settings must not leak in.
	t.Setenv("WSUS_SERVER", "")
	t.Setenv("WSUS_ADMIN_TOKEN", "")
	ctx := context.Background()
	store, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "catalog.db"))
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { store.Close() })
	rev := func(id uuid.UUID, n int32, typ catalog.UpdateType, title, kb string) *catalog.Revision {
		return &catalog.Revision{
			Identity: catalog.Identity{UpdateID: id, RevisionNumber: n}, Type: typ, Title: title, KBArticleID: kb,
			PublicationState: "Published", CreationDate: t0, CoreXML: "<Core/>", SourceXML: "<upd:Update/>",
		}
	}
	cat := rev(categoryID, 100, catalog.TypeCategory, "Windows 11", "")
	cat.CategoryType = "Product"
	sw := rev(softwareID, 301, catalog.TypeSoftware, "2026-03 Cumulative Update", "5050001")
	sw.Prerequisites = []catalog.PrerequisiteClause{{IsCategory: true, UpdateIDs: []uuid.UUID{categoryID}}}
	drv := rev(driverID, 400, catalog.TypeDriver, "Contoso Net driver", "")
	if _, err := store.ImportRevisions(ctx, []*catalog.Revision{cat, sw, drv}); err != nil {
		t.Fatalf("import: %v", err)
	}
	if err := store.CreateTargetGroup(ctx, catalog.TargetGroup{ID: pilotID, Name: "Pilot", ParentID: catalog.AllComputersGroupID}); err != nil {
		t.Fatalf("group: %v", err)
	}
	if err := store.RecordAuthorization(ctx, clientID, "alpha.contoso.test", []string{"Pilot", "Ring 1"}, t0); err != nil {
		t.Fatalf("authorize: %v", err)
	}
	if err := store.RegisterComputer(ctx, catalog.Computer{
		ID: clientID, DNSName: "alpha.contoso.test", OSMajor: 10, OSBuild: 26200, OSDescription: "Windows 11 Pro",
		Architecture: "AMD64", Manufacturer: "Contoso", Model: "VM", ClientVersion: "1183.2601.14012.0",
		Info: &catalog.ComputerInfo{
			DnsName: "alpha.contoso.test", OSMajorVersion: 10, OSBuildNumber: 26200, OSLocale: "en-US",
			ComputerManufacturer: "Contoso", ComputerModel: "VM", BiosVersion: "VRTUAL - 1", BiosName: "Hyper-V UEFI",
			BiosReleaseDate: time.Date(2023, 4, 5, 0, 0, 0, 0, time.UTC), ProcessorArchitecture: "AMD64",
			SuiteMask: 256, OldProductType: 1, NewProductType: 48, ClientVersionMajorNumber: 1183,
			ClientVersionMinorNumber: 2601, ClientVersionBuildNumber: 14012, OSDescription: "Windows 11 Pro",
			OEM: "Contoso", DeviceType: "VM", FirmwareVersion: "4.1", MobileOperator: "Not Present",
		},
	}); err != nil {
		t.Fatalf("register: %v", err)
	}
	// Two devices of the driver pass of capture scan/000009.
	if err := store.RecordHardware(ctx, clientID, catalog.HardwareInventory{
		ReportedAt:              t1,
		ComputerHardwareIDs:     []uuid.UUID{uuid.MustParse("458ab48b-acb9-5863-b5a8-d2c32f0d3e6f")},
		FeatureScoreMatchingKey: "AMD64.10.0",
		DeviceCount:             72,
		Devices: []catalog.InventoryDevice{
			{HardwareIDs: []string{"microsoftmicrosoft_musd"}, InstalledDriver: &catalog.InventoryDriver{
				MatchingID: "microsoftmicrosoft_musd", DriverVerDate: time.Date(2006, 6, 21, 0, 0, 0, 0, time.UTC),
				DriverVerVersion: 2814751477604196, Class: "Printer", Manufacturer: "Microsoft", Provider: "Microsoft",
				Model: "Microsoft enhanced Point and Print compatibility driver", DriverRank: -1,
			}},
			{HardwareIDs: []string{`PCI\VEN_1AF4&DEV_1000`}},
		},
	}); err != nil {
		t.Fatalf("hardware: %v", err)
	}
	if err := store.RecordSync(ctx, clientID, t1); err != nil {
		t.Fatalf("sync: %v", err)
	}
	if err := store.SetStatuses(ctx, clientID, []catalog.UpdateStatus{{ClientID: clientID, UpdateID: softwareID, State: catalog.StateFailed}}, true, t1); err != nil {
		t.Fatalf("statuses: %v", err)
	}
	srv := httptest.NewServer(admin.New(store, token, slog.New(slog.DiscardHandler)))
	t.Cleanup(srv.Close)
	return &server{store: store, srv: srv}
}

// wsusctl runs the command against s and returns its exit status, stdout
// and stderr.
func (s *server) wsusctl(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	return runCLI(t, append([]string{"--server", s.srv.URL, "--token", token}, args...)...)
}

func runCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), args, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

// rawGET returns the body the server answers a GET of path.
func (s *server) rawGET(t *testing.T, path string) string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, s.srv.URL+path, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := s.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// lines joins table lines, each ended by a newline.
func lines(ls ...string) string { return strings.Join(ls, "\n") + "\n" }

func TestReadCommands(t *testing.T) {
	s := newServer(t)
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"groups"}, lines(
			"ID                                    NAME                  PARENT",
			"a0a08746-4dbe-4a37-9adf-9e7652c0b421  All Computers         -",
			"55555555-5555-4555-8555-555555555555  Pilot                 a0a08746-4dbe-4a37-9adf-9e7652c0b421",
			"b73ca6ed-5727-47f3-84de-015e03f6a88a  Unassigned Computers  a0a08746-4dbe-4a37-9adf-9e7652c0b421",
		)},
		{[]string{"computers"}, lines(
			"ID                                    DNS NAME            OS VERSION  GROUPS  NEEDED  INSTALLED  FAILED  LAST SYNC             LAST STATUS",
			"0f6a2b4c-0000-4000-8000-00000000000a  alpha.contoso.test  10.0.26200  -       0       0          1       2026-03-01T10:05:00Z  2026-03-01T10:05:00Z",
		)},
		{[]string{"computer", clientID}, lines(
			"ID:                0f6a2b4c-0000-4000-8000-00000000000a",
			"DNS name:          alpha.contoso.test",
			"Registered:        true",
			"OS:                Windows 11 Pro 10.0.26200",
			"Architecture:      AMD64",
			"Manufacturer:      Contoso",
			"Model:             VM",
			"Client version:    1183.2601.14012.0",
			"Requested groups:  Pilot, Ring 1",
			"Assigned groups:   -",
			"First seen:        2026-03-01T10:00:00Z",
			"Last sync:         2026-03-01T10:05:00Z",
			"Last report:       -",
			"Last status:       2026-03-01T10:05:00Z",
			"Events:            0",
			"Service pack:      0.0",
			"OS locale:         en-US",
			"Product type:      48 (old 1), suite mask 256, system metrics 0",
			"OEM:               Contoso",
			"Device type:       VM",
			"BIOS:              Hyper-V UEFI VRTUAL - 1 (2023-04-05)",
			"Firmware:          4.1",
			"Mobile operator:   Not Present",
			"",
			"Hardware reported 2026-03-01T10:05:00Z: 72 device(s), feature score key AMD64.10.0",
			"Computer hardware IDs: 458ab48b-acb9-5863-b5a8-d2c32f0d3e6f",
			"The first 2 devices are kept.",
			"",
			"HARDWARE ID              CLASS    PROVIDER   MODEL                                                    VERSION          DATE",
			"microsoftmicrosoft_musd  Printer  Microsoft  Microsoft enhanced Point and Print compatibility driver  10.0.26100.8036  2006-06-21",
			`PCI\VEN_1AF4&DEV_1000    -        -          -                                                        -                -`,
			"",
			"KB         STATE   ERROR  CHANGED               UPDATE ID                             TITLE",
			"KB5050001  Failed  -      2026-03-01T10:05:00Z  11111111-1111-4111-8111-111111111111  2026-03 Cumulative Update",
		)},
		{[]string{"updates", "--sort", "title"}, lines(
			"UPDATE ID                             KB         CLASSIFICATION  SEVERITY  NEEDED  INSTALLED  FAILED  APPROVED FOR  DECLINED  TITLE",
			"11111111-1111-4111-8111-111111111111  KB5050001  -               -         0       0          1       -             no        2026-03 Cumulative Update",
			"22222222-2222-4222-8222-222222222222  -          -               -         0       0          0       -             no        Contoso Net driver",
		)},
		{[]string{"updates", "--type", "Driver"}, lines(
			"UPDATE ID                             KB  CLASSIFICATION  SEVERITY  NEEDED  INSTALLED  FAILED  APPROVED FOR  DECLINED  TITLE",
			"22222222-2222-4222-8222-222222222222  -   -               -         0       0          0       -             no        Contoso Net driver",
		)},
		{[]string{"updates", "--approved"}, lines(
			"UPDATE ID  KB  CLASSIFICATION  SEVERITY  NEEDED  INSTALLED  FAILED  APPROVED FOR  DECLINED  TITLE",
		)},
		{[]string{"updates", "--approved=false", "--type", "Category"}, lines(
			"UPDATE ID                             KB  CLASSIFICATION  SEVERITY  NEEDED  INSTALLED  FAILED  APPROVED FOR  DECLINED  TITLE",
			"33333333-3333-4333-8333-333333333333  -   -               -         0       0          0       -             no        Windows 11",
		)},
		{[]string{"updates", "--declined"}, lines(
			"UPDATE ID  KB  CLASSIFICATION  SEVERITY  NEEDED  INSTALLED  FAILED  APPROVED FOR  DECLINED  TITLE",
		)},
		{[]string{"approvals"}, lines(
			"ID  UPDATE ID  GROUP  ACTION  DEADLINE  CHANGED  IN FORCE",
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
}

func TestJSONIsTheServersAnswer(t *testing.T) {
	s := newServer(t)
	tests := []struct {
		args []string
		path string
	}{
		{[]string{"--json", "groups"}, "/api/v1/groups"},
		{[]string{"computers", "--json"}, "/api/v1/computers"},
		{[]string{"--json", "computer", clientID}, "/api/v1/computers/" + clientID},
		{[]string{"updates", "--json", "--type", "Software"}, "/api/v1/updates?type=Software"},
		{[]string{"updates", "--json", "--declined=false", "--approved"}, "/api/v1/updates?approved=true&declined=false"},
		{[]string{"--json", "approvals"}, "/api/v1/approvals"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			code, stdout, stderr := s.wsusctl(t, tt.args...)
			if code != 0 || stderr != "" {
				t.Fatalf("exit %d, stderr %q", code, stderr)
			}
			if want := s.rawGET(t, tt.path); stdout != want {
				t.Errorf("stdout:\n%s\nwant the server's answer:\n%s", stdout, want)
			}
		})
	}
}

func TestApprove(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		want       string
		wantAction catalog.ApprovalAction // "" when no approval remains
		wantGroup  uuid.UUID
		wantDL     time.Time
	}{
		{
			name: "defaults", args: []string{"approve", softwareID.String()},
			want:       "Approved 11111111-1111-4111-8111-111111111111 for All Computers: Install (deployment 1).\n",
			wantAction: catalog.ActionInstall, wantGroup: catalog.AllComputersGroupID,
		},
		{
			name:       "flags after the ID",
			args:       []string{"approve", softwareID.String(), "--group", "pilot", "--action", "Uninstall", "--deadline", "2026-04-01T02:00:00+02:00"},
			want:       "Approved 11111111-1111-4111-8111-111111111111 for Pilot: Uninstall, deadline 2026-04-01T00:00:00Z (deployment 1).\n",
			wantAction: catalog.ActionUninstall, wantGroup: pilotID, wantDL: time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC),
		},
		{
			name:       "flags before the ID, group by ID",
			args:       []string{"approve", "--group", pilotID.String(), driverID.String()},
			want:       "Approved 22222222-2222-4222-8222-222222222222 for Pilot: Install (deployment 1).\n",
			wantAction: catalog.ActionInstall, wantGroup: pilotID,
		},
		{
			name:       "optional install",
			args:       []string{"approve", driverID.String(), "--action", "OptionalInstall", "--group", "Pilot"},
			want:       "Approved 22222222-2222-4222-8222-222222222222 for Pilot: OptionalInstall (deployment 1).\n",
			wantAction: catalog.ActionOptionalInstall, wantGroup: pilotID,
		},
		{
			name: "not approved",
			args: []string{"approve", "--action", "NotApproved", softwareID.String()},
			want: "Removed the approval of 11111111-1111-4111-8111-111111111111 for All Computers.\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newServer(t)
			code, stdout, stderr := s.wsusctl(t, tt.args...)
			if code != 0 || stderr != "" {
				t.Fatalf("exit %d, stderr %q", code, stderr)
			}
			if stdout != tt.want {
				t.Errorf("stdout = %q, want %q", stdout, tt.want)
			}
			approvals, err := s.store.Approvals(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if tt.wantAction == "" {
				if len(approvals) != 0 {
					t.Errorf("approvals = %+v, want none", approvals)
				}
				return
			}
			if len(approvals) != 1 {
				t.Fatalf("approvals = %+v, want one", approvals)
			}
			a := approvals[0]
			if a.Action != tt.wantAction || a.GroupID != tt.wantGroup || !a.Deadline.Equal(tt.wantDL) || a.ID != 1 {
				t.Errorf("approval = %+v", a)
			}
		})
	}
}

func TestApprovalsAfterApprove(t *testing.T) {
	s := newServer(t)
	if code, _, stderr := s.wsusctl(t, "approve", softwareID.String(), "--deadline", "2026-04-01T00:00:00Z"); code != 0 {
		t.Fatalf("approve: exit %d, %s", code, stderr)
	}
	approvals, err := s.store.Approvals(context.Background())
	if err != nil || len(approvals) != 1 {
		t.Fatalf("approvals = %+v, %v", approvals, err)
	}
	changed := approvals[0].ChangedAt.UTC().Format(time.RFC3339)
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"approvals"}, lines(
			"ID  UPDATE ID                             GROUP          ACTION   DEADLINE              CHANGED               IN FORCE",
			"1   11111111-1111-4111-8111-111111111111  All Computers  Install  2026-04-01T00:00:00Z  "+changed+"  yes",
		)},
		{[]string{"updates", "--approved"}, lines(
			"UPDATE ID                             KB         CLASSIFICATION  SEVERITY  NEEDED  INSTALLED  FAILED  APPROVED FOR   DECLINED  TITLE",
			"11111111-1111-4111-8111-111111111111  KB5050001  -               -         0       0          1       All Computers  no        2026-03 Cumulative Update",
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
}

func TestApproveJSON(t *testing.T) {
	s := newServer(t)
	code, stdout, stderr := s.wsusctl(t, "--json", "approve", driverID.String(), "--group", "Pilot")
	if code != 0 || stderr != "" {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	var got map[string]any
	if err := json.Unmarshal([]byte(stdout), &got); err != nil {
		t.Fatalf("stdout is not JSON: %v\n%s", err, stdout)
	}
	approvals, err := s.store.Approvals(context.Background())
	if err != nil || len(approvals) != 1 {
		t.Fatalf("approvals = %+v, %v", approvals, err)
	}
	want := map[string]any{
		"id": 1.0, "update_id": driverID.String(), "group_id": pilotID.String(), "group": "Pilot",
		"action": "Install", "deadline": nil, "changed_at": approvals[0].ChangedAt.UTC().Format(time.RFC3339Nano), "by": "bootstrap",
		"in_force": true,
	}
	if len(got) != len(want) {
		t.Errorf("answer %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}
}

func TestServerErrors(t *testing.T) {
	s := newServer(t)
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"unknown update", []string{"--server", s.srv.URL, "--token", token, "approve", unknownID.String()},
			"wsusctl: the catalog has no update 99999999-9999-4999-8999-999999999999 (unknown_update, HTTP 404)\n"},
		{"unknown group", []string{"--server", s.srv.URL, "--token", token, "approve", softwareID.String(), "--group", "Canary"},
			"wsusctl: no target group is named or has the ID \"Canary\" (unknown_group, HTTP 404)\n"},
		{"bad action", []string{"--server", s.srv.URL, "--token", token, "approve", softwareID.String(), "--action", "Later"},
			"wsusctl: action \"Later\" is not one of Install, OptionalInstall, Uninstall, NotApproved (invalid_action, HTTP 400)\n"},
		{"bad deadline", []string{"--server", s.srv.URL, "--token", token, "approve", softwareID.String(), "--deadline", "soon"},
			"wsusctl: deadline \"soon\" is not an RFC 3339 time such as 2026-05-01T18:00:00Z (invalid_deadline, HTTP 400)\n"},
		{"unknown computer", []string{"--server", s.srv.URL, "--token", token, "computer", "nobody"},
			"wsusctl: no computer has the client ID or DNS name \"nobody\" (unknown_computer, HTTP 404)\n"},
		{"bad type", []string{"--server", s.srv.URL, "--token", token, "updates", "--type", "Firmware"},
			"wsusctl: type \"Firmware\" is not one of Software, Driver, Category, Detectoid (bad_query, HTTP 400)\n"},
		{"decline an unknown update", []string{"--server", s.srv.URL, "--token", token, "decline", unknownID.String()},
			"wsusctl: the catalog has no update 99999999-9999-4999-8999-999999999999 (unknown_update, HTTP 404)\n"},
		{"decline a category", []string{"--server", s.srv.URL, "--token", token, "decline", categoryID.String()},
			"wsusctl: update 33333333-3333-4333-8333-333333333333 is a Category; only Software and Driver updates can be declined (not_declinable, HTTP 400)\n"},
		{"undecline what is not a GUID", []string{"--server", s.srv.URL, "--token", token, "undecline", "KB5050001"},
			"wsusctl: update ID \"KB5050001\" is not a GUID (invalid_update_id, HTTP 400)\n"},
		{"create an existing group", []string{"--server", s.srv.URL, "--token", token, "create-group", "PILOT"},
			"wsusctl: a target group is already named \"Pilot\" (55555555-5555-4555-8555-555555555555) (group_exists, HTTP 409)\n"},
		{"create a group under an unknown parent", []string{"--server", s.srv.URL, "--token", token, "create-group", "Ring1", "--parent", "Ring0"},
			"wsusctl: no target group is named or has the ID \"Ring0\" (unknown_group, HTTP 404)\n"},
		{"create a group named by a GUID", []string{"--server", s.srv.URL, "--token", token, "create-group", unknownID.String()},
			"wsusctl: name \"99999999-9999-4999-8999-999999999999\" is a GUID; group names must not look like IDs (invalid_name, HTTP 400)\n"},
		{"assign an unknown computer", []string{"--server", s.srv.URL, "--token", token, "assign", "nobody", "Pilot"},
			"wsusctl: no computer has the client ID or DNS name \"nobody\" (unknown_computer, HTTP 404)\n"},
		{"assign an unknown group", []string{"--server", s.srv.URL, "--token", token, "assign", clientID, "Pilot", "Canary"},
			"wsusctl: no target group is named or has the ID \"Canary\" (unknown_group, HTTP 404)\n"},
		{"assign All Computers", []string{"--server", s.srv.URL, "--token", token, "assign", clientID, "All Computers"},
			"wsusctl: every computer is in All Computers; it cannot be assigned (not_assignable, HTTP 400)\n"},
		{"wrong token", []string{"--server", s.srv.URL, "--token", "wrong", "groups"},
			"wsusctl: invalid bearer token (unauthorized, HTTP 401)\n"},
		{"wrong token with --json", []string{"--server", s.srv.URL, "--token", "wrong", "--json", "groups"},
			"wsusctl: invalid bearer token (unauthorized, HTTP 401)\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, tt.args...)
			if code != 1 || stdout != "" || stderr != tt.want {
				t.Errorf("exit %d, stdout %q, stderr %q; want exit 1, stderr %q", code, stdout, stderr, tt.want)
			}
		})
	}
}

func TestNonJSONError(t *testing.T) {
	t.Setenv("WSUS_ADMIN_TOKEN", "")
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "upstream\nis down", http.StatusBadGateway)
	}))
	defer proxy.Close()
	code, stdout, stderr := runCLI(t, "--server", proxy.URL, "--token", token, "groups")
	want := "wsusctl: GET " + proxy.URL + "/api/v1/groups: HTTP 502 Bad Gateway: upstream is down\n"
	if code != 1 || stdout != "" || stderr != want {
		t.Errorf("exit %d, stdout %q, stderr %q; want exit 1, stderr %q", code, stdout, stderr, want)
	}
}

func TestEnvironment(t *testing.T) {
	s := newServer(t)
	t.Setenv("WSUS_SERVER", s.srv.URL)
	t.Setenv("WSUS_ADMIN_TOKEN", token)
	code, stdout, stderr := runCLI(t, "--json", "groups")
	if code != 0 || stderr != "" || stdout != s.rawGET(t, "/api/v1/groups") {
		t.Errorf("with env only: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	// Flags win over the environment.
	t.Setenv("WSUS_ADMIN_TOKEN", "wrong")
	code, _, stderr = runCLI(t, "--token", token, "groups")
	if code != 0 || stderr != "" {
		t.Errorf("--token over env: exit %d, stderr %q", code, stderr)
	}
	t.Setenv("WSUS_SERVER", "http://127.0.0.1:1")
	code, _, stderr = runCLI(t, "--server", s.srv.URL, "--token", token, "groups")
	if code != 0 || stderr != "" {
		t.Errorf("--server over env: exit %d, stderr %q", code, stderr)
	}
}

func TestUsageErrors(t *testing.T) {
	t.Setenv("WSUS_SERVER", "")
	t.Setenv("WSUS_ADMIN_TOKEN", "")
	tests := []struct {
		name string
		args []string
		want string // first line of stderr
	}{
		{"no command", nil, "wsusctl: no command"},
		{"unknown command", []string{"--token", "t", "approvel"}, `wsusctl: unknown command "approvel"`},
		{"unknown global flag", []string{"--tokn", "t", "groups"}, "wsusctl: flag provided but not defined: -tokn"},
		{"unknown command flag", []string{"--token", "t", "updates", "--kind", "Driver"}, "wsusctl: updates: flag provided but not defined: -kind"},
		{"approve without ID", []string{"--token", "t", "approve", "--group", "Pilot"}, "wsusctl: approve wants UPDATE-ID... or filter flags (--kb, --title, --type)"},
		{"approve IDs and a filter", []string{"--token", "t", "approve", softwareID.String(), "--kb", "5050001"}, "wsusctl: approve takes UPDATE-ID... or filter flags (--kb, --title, --type), not both"},
		{"computer without ID", []string{"--token", "t", "computer"}, "wsusctl: computer wants ID, got 0 argument(s)"},
		{"decline without ID", []string{"--token", "t", "decline"}, "wsusctl: decline wants UPDATE-ID... or filter flags (--kb, --title, --type)"},
		{"cleanup without days", []string{"--token", "t", "cleanup-computers"}, "wsusctl: cleanup-computers needs --not-contacted-days N (N at least 1)"},
		{"rename-group without a new name", []string{"--token", "t", "rename-group", "Pilot"}, "wsusctl: rename-group wants GROUP NEW-NAME, got 1 argument(s)"},
		{"create-group without name", []string{"--token", "t", "create-group", "--parent", "Pilot"}, "wsusctl: create-group wants NAME, got 0 argument(s)"},
		{"create-group two names", []string{"--token", "t", "create-group", "Ring", "1"}, "wsusctl: create-group wants NAME, got 2 argument(s)"},
		{"assign without arguments", []string{"--token", "t", "assign"}, "wsusctl: assign wants COMPUTER-ID GROUP... or COMPUTER-ID --clear, got 0 argument(s)"},
		{"assign without groups", []string{"--token", "t", "assign", clientID}, "wsusctl: assign wants at least one GROUP after COMPUTER-ID, or --clear"},
		{"assign --clear with groups", []string{"--token", "t", "assign", clientID, "--clear", "Pilot"}, "wsusctl: assign --clear takes only COMPUTER-ID, got 1 group(s) too"},
		{"declined not a boolean", []string{"--token", "t", "updates", "--declined=perhaps"}, `wsusctl: updates: invalid boolean value "perhaps" for -declined: not true or false`},
		{"groups with an argument", []string{"--token", "t", "groups", "Pilot"}, `wsusctl: groups takes no arguments, got ["Pilot"]`},
		{"no token", []string{"groups"}, "wsusctl: no admin token: set WSUS_ADMIN_TOKEN or pass --token"},
		{"bad server URL", []string{"--server", "ftp://example.test", "--token", "t", "groups"}, `wsusctl: server URL "ftp://example.test": want http://host:port or https://host:port`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, tt.args...)
			first, rest, _ := strings.Cut(stderr, "\n")
			if code != 2 || stdout != "" || first != tt.want || !strings.HasPrefix(rest, "usage: wsusctl") {
				t.Errorf("exit %d, stdout %q, stderr %q; want exit 2 and %q then the usage", code, stdout, stderr, tt.want)
			}
		})
	}
}

func TestHelp(t *testing.T) {
	for _, args := range [][]string{{"help"}, {"--help"}, {"-h"}} {
		code, stdout, stderr := runCLI(t, args...)
		if code != 0 || stdout != usage || stderr != "" {
			t.Errorf("%v: exit %d, stdout %q, stderr %q", args, code, stdout, stderr)
		}
	}
}

// approve refuses a declined update unless --undecline; without --deadline
// a re-approval keeps the deadline, --no-deadline removes it; approvals
// shows the approvals of a declined update as not in force.
func TestApproveDeclinedAndDeadlines(t *testing.T) {
	s := newServer(t)
	ctx := context.Background()
	run := func(wantCode int, args ...string) string {
		t.Helper()
		code, stdout, stderr := s.wsusctl(t, args...)
		if code != wantCode {
			t.Fatalf("wsusctl %q: exit %d, want %d; stdout %q, stderr %q", args, code, wantCode, stdout, stderr)
		}
		return stdout + stderr
	}
	deadline := func() time.Time {
		t.Helper()
		list, err := s.store.Approvals(ctx)
		if err != nil || len(list) != 1 {
			t.Fatalf("approvals = %+v, %v", list, err)
		}
		return list[0].Deadline
	}
	d := time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)
	run(0, "approve", driverID.String(), "--group", "Pilot", "--deadline", "2026-04-01T00:00:00Z")
	run(0, "approve", driverID.String(), "--group", "Pilot", "--action", "OptionalInstall")
	if got := deadline(); !got.Equal(d) {
		t.Errorf("deadline after a re-approval without --deadline = %v, want %v", got, d)
	}
	run(0, "decline", driverID.String())
	if out := run(0, "approvals"); !strings.Contains(out, "no (declined)") {
		t.Errorf("approvals of a declined update:\n%s", out)
	}
	if out := run(1, "approve", driverID.String(), "--group", "Pilot"); !strings.Contains(out, "update_declined") {
		t.Errorf("approving a declined update: %q, want update_declined", out)
	}
	run(0, "approve", driverID.String(), "--group", "Pilot", "--undecline", "--no-deadline")
	if got := deadline(); !got.IsZero() {
		t.Errorf("deadline after --no-deadline = %v, want none", got)
	}
	if out := run(0, "approvals"); strings.Contains(out, "declined") {
		t.Errorf("approvals after --undecline:\n%s", out)
	}
	run(2, "approve", driverID.String(), "--deadline", "2026-04-01T00:00:00Z", "--no-deadline")
}

// The issue 11 commands against a real server: bulk approve by list and by
// filter, unapprove, rename-group, delete-group, computers by DNS name,
// delete-computer and cleanup-computers.
func TestGroupAndComputerAdmin(t *testing.T) {
	s := newServer(t)
	ctx := context.Background()
	run := func(wantCode int, args ...string) string {
		t.Helper()
		code, stdout, stderr := s.wsusctl(t, args...)
		if code != wantCode {
			t.Fatalf("wsusctl %q: exit %d, want %d; stdout %q, stderr %q", args, code, wantCode, stdout, stderr)
		}
		return stdout + stderr
	}
	if out := run(0, "approve", softwareID.String(), driverID.String(), "--group", "Pilot"); !strings.Contains(out, "approve: 2 succeeded, 0 failed.") {
		t.Errorf("bulk approve:\n%s", out)
	}
	if out := run(1, "decline", softwareID.String(), categoryID.String()); !strings.Contains(out, "not_declinable") || !strings.Contains(out, "1 of 2 updates failed") {
		t.Errorf("bulk decline with a failure:\n%s", out)
	}
	run(0, "undecline", "--kb", "5050001")
	run(0, "unapprove", "--group", "Pilot", "--type", "Driver")
	if list, _ := s.store.Approvals(ctx); len(list) != 1 || list[0].UpdateID != softwareID {
		t.Errorf("approvals after unapprove by filter = %+v, want the software's", list)
	}
	run(0, "rename-group", "Pilot", "Ring 0")
	if out := run(1, "delete-group", "All Computers"); !strings.Contains(out, "builtin_group") {
		t.Errorf("delete-group All Computers:\n%s", out)
	}
	if out := run(0, "delete-group", "Ring 0"); !strings.Contains(out, "Deleted target group Ring 0") {
		t.Errorf("delete-group:\n%s", out)
	}
	if list, _ := s.store.Approvals(ctx); len(list) != 0 {
		t.Errorf("approvals after delete-group = %+v", list)
	}
	if out := run(0, "computer", "alpha.contoso.test"); !strings.Contains(out, clientID) {
		t.Errorf("computer by DNS name:\n%s", out)
	}
	if out := run(0, "cleanup-computers", "--not-contacted-days", "1", "--dry-run"); !strings.Contains(out, "Would delete (dry run) 1 computer(s).") || !strings.Contains(out, "alpha.contoso.test") {
		t.Errorf("cleanup dry run:\n%s", out)
	}
	if out := run(0, "delete-computer", "alpha"); !strings.Contains(out, "Deleted 1 computer(s).") {
		t.Errorf("delete-computer by host name:\n%s", out)
	}
	if list, _ := s.store.Computers(ctx); len(list) != 0 {
		t.Errorf("computers after delete-computer = %+v", list)
	}
}
