package main

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"

	"wsus/catalog"
)

// ok runs wsusctl against s, requires success and returns stdout.
func (s *server) ok(t *testing.T, args ...string) string {
	t.Helper()
	code, stdout, stderr := s.wsusctl(t, args...)
	if code != 0 || stderr != "" {
		t.Fatalf("wsusctl %s: exit %d, stderr %q", strings.Join(args, " "), code, stderr)
	}
	return stdout
}

// declinedUpdates returns the updates the store holds declined.
func (s *server) declinedUpdates(t *testing.T) []uuid.UUID {
	t.Helper()
	states, err := s.store.UpdateStates(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var out []uuid.UUID
	for _, st := range states {
		if st.Declined {
			out = append(out, st.UpdateID)
		}
	}
	return out
}

func TestDeclineCommands(t *testing.T) {
	s := newServer(t)
	steps := []struct {
		args []string
		want string
		// wantDeclined is what the store holds declined afterwards.
		wantDeclined []uuid.UUID
	}{
		{[]string{"decline", driverID.String()},
			"Declined 22222222-2222-4222-8222-222222222222: no client is offered it.\n", []uuid.UUID{driverID}},
		{[]string{"updates", "--declined"}, lines(
			"UPDATE ID                             KB  CLASSIFICATION  SEVERITY  NEEDED  INSTALLED  FAILED  APPROVED FOR  DECLINED  TITLE",
			"22222222-2222-4222-8222-222222222222  -   -               -         0       0          0       -             yes       Contoso Net driver",
		), []uuid.UUID{driverID}},
		{[]string{"updates", "--declined=false"}, lines(
			"UPDATE ID                             KB         CLASSIFICATION  SEVERITY  NEEDED  INSTALLED  FAILED  APPROVED FOR  DECLINED  TITLE",
			"11111111-1111-4111-8111-111111111111  KB5050001  -               -         0       0          1       -             no        2026-03 Cumulative Update",
		), []uuid.UUID{driverID}},
		// Declining again changes nothing and says the same.
		{[]string{"decline", driverID.String()},
			"Declined 22222222-2222-4222-8222-222222222222: no client is offered it.\n", []uuid.UUID{driverID}},
		{[]string{"--json", "undecline", driverID.String()},
			`{"update_id":"22222222-2222-4222-8222-222222222222","declined":false}` + "\n", nil},
		{[]string{"decline", "--json", "{" + strings.ToUpper(softwareID.String()) + "}"},
			`{"update_id":"11111111-1111-4111-8111-111111111111","declined":true}` + "\n", []uuid.UUID{softwareID}},
		{[]string{"undecline", softwareID.String()},
			"Un-declined 11111111-1111-4111-8111-111111111111: its approvals, if any, are in force again.\n", nil},
	}
	for _, st := range steps {
		if got := s.ok(t, st.args...); got != st.want {
			t.Errorf("wsusctl %s:\n%s\nwant:\n%s", strings.Join(st.args, " "), got, st.want)
		}
		if got := s.declinedUpdates(t); !slices.Equal(got, st.wantDeclined) {
			t.Errorf("after wsusctl %s the store holds %v declined, want %v", strings.Join(st.args, " "), got, st.wantDeclined)
		}
	}
}

func TestCreateGroupCommand(t *testing.T) {
	s := newServer(t)
	// group returns the store's group called name.
	group := func(name string) catalog.TargetGroup {
		t.Helper()
		groups, err := s.store.TargetGroups(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, g := range groups {
			if g.Name == name {
				return g
			}
		}
		t.Fatalf("the store has no group %q: %+v", name, groups)
		return catalog.TargetGroup{}
	}

	got := s.ok(t, "create-group", "Ring 1")
	ring1 := group("Ring 1")
	if want := "Created target group Ring 1 with ID " + ring1.ID.String() + " under " + catalog.AllComputersGroupID.String() + ".\n"; got != want {
		t.Errorf("create-group Ring 1: %q, want %q", got, want)
	}
	if ring1.ParentID != catalog.AllComputersGroupID {
		t.Errorf("Ring 1 parent %s, want All Computers", ring1.ParentID)
	}

	got = s.ok(t, "create-group", "--parent", "pilot", "Canary")
	canary := group("Canary")
	if want := "Created target group Canary with ID " + canary.ID.String() + " under " + pilotID.String() + ".\n"; got != want {
		t.Errorf("create-group Canary: %q, want %q", got, want)
	}

	got = s.ok(t, "--json", "create-group", "Servers", "--parent", canary.ID.String())
	servers := group("Servers")
	if want := `{"id":"` + servers.ID.String() + `","name":"Servers","parent_id":"` + canary.ID.String() + `"}` + "\n"; got != want {
		t.Errorf("create-group --json: %q, want %q", got, want)
	}

	if got, want := s.ok(t, "groups"), lines(
		"ID                                    NAME                  PARENT",
		"a0a08746-4dbe-4a37-9adf-9e7652c0b421  All Computers         -",
		canary.ID.String()+"  Canary                "+pilotID.String(),
		"55555555-5555-4555-8555-555555555555  Pilot                 a0a08746-4dbe-4a37-9adf-9e7652c0b421",
		ring1.ID.String()+"  Ring 1                a0a08746-4dbe-4a37-9adf-9e7652c0b421",
		servers.ID.String()+"  Servers               "+canary.ID.String(),
		"b73ca6ed-5727-47f3-84de-015e03f6a88a  Unassigned Computers  a0a08746-4dbe-4a37-9adf-9e7652c0b421",
	); got != want {
		t.Errorf("groups:\n%s\nwant:\n%s", got, want)
	}
}

func TestAssignCommand(t *testing.T) {
	s := newServer(t)
	s.ok(t, "create-group", "Ring 1")
	assigned := func() []uuid.UUID {
		t.Helper()
		c, err := s.store.Computer(context.Background(), clientID)
		if err != nil {
			t.Fatal(err)
		}
		return c.Groups
	}

	want := clientID + " (alpha.contoso.test) is assigned to Pilot, Ring 1.\n"
	if got := s.ok(t, "assign", clientID, "ring 1", pilotID.String()); got != want {
		t.Errorf("assign: %q, want %q", got, want)
	}
	if got := assigned(); len(got) != 2 || !slices.Contains(got, pilotID) {
		t.Errorf("store groups %v, want Pilot and Ring 1", got)
	}
	if got, want := s.ok(t, "computers"), lines(
		"ID                                    DNS NAME            OS VERSION  GROUPS        NEEDED  INSTALLED  FAILED  LAST SYNC             LAST STATUS",
		"0f6a2b4c-0000-4000-8000-00000000000a  alpha.contoso.test  10.0.26200  Pilot,Ring 1  0       0          1       2026-03-01T10:05:00Z  2026-03-01T10:05:00Z",
	); got != want {
		t.Errorf("computers:\n%s\nwant:\n%s", got, want)
	}
	if got := s.ok(t, "computer", clientID); !strings.Contains(got, "\nAssigned groups:   Pilot, Ring 1\n") {
		t.Errorf("computer does not show the assigned groups:\n%s", got)
	}

	// --json prints the server's answer: the computer as GET /computers
	// lists it, without the list's counts.
	got := s.ok(t, "--json", "assign", clientID, "Pilot")
	var list struct{ Computers []json.RawMessage }
	if err := json.Unmarshal([]byte(s.rawGET(t, "/api/v1/computers")), &list); err != nil || len(list.Computers) != 1 {
		t.Fatalf("GET computers: %v, %d computers", err, len(list.Computers))
	}
	if want := string(list.Computers[0]) + "\n"; !strings.HasPrefix(want, strings.TrimSuffix(got, "}\n")+`,"updates":{`) {
		t.Errorf("assign --json:\n%s\nwant the computer as listed:\n%s", got, want)
	}
	if !strings.Contains(got, `"groups":[{"id":"`+pilotID.String()+`","name":"Pilot"}]`) {
		t.Errorf("assign --json answer lacks the groups: %s", got)
	}

	want = clientID + " (alpha.contoso.test) is assigned to no target group.\n"
	if got := s.ok(t, "assign", "--clear", clientID); got != want {
		t.Errorf("assign --clear: %q, want %q", got, want)
	}
	if got := assigned(); len(got) != 0 {
		t.Errorf("store groups %v after --clear, want none", got)
	}
}
