package wusp_test

import (
	"context"
	"slices"
	"strconv"
	"testing"
	"time"

	"wsus/catalog"
)

// TestDeadlineInDeployment: an approval with a deadline puts Deadline in the
// Deployment, in WSDL order between Action and IsAssigned. The string form
// WSUS sends was never observed (MS-WUSP.md section 10); we send xs:dateTime
// in UTC.
func TestDeadlineInDeployment(t *testing.T) {
	e := newEnv(t, envOptions{})
	deadline := time.Date(2026, 12, 1, 18, 30, 0, 0, time.UTC)
	if _, err := e.store.SetApproval(context.Background(), catalog.Approval{UpdateID: idDemo, GroupID: catalog.AllComputersGroupID, Action: catalog.ActionInstall, Deadline: deadline}); err != nil {
		t.Fatal(err)
	}
	_, ck := e.login("")
	_, el := e.syncUpdates(ck, []int32{e.ids[idMicrosoft], e.ids[idWindows]}, nil)
	for _, ui := range el.FindElements("SyncUpdatesResult/NewUpdates/UpdateInfo") {
		if ui.FindElement("ID").Text() != itoa(e.ids[idDemo]) {
			continue
		}
		var names []string
		for _, c := range ui.FindElement("Deployment").ChildElements() {
			names = append(names, c.Tag)
		}
		want := []string{"ID", "Action", "Deadline", "IsAssigned", "LastChangeTime", "AutoSelect", "AutoDownload", "SupersedenceBehavior"}
		if !slices.Equal(names, want) {
			t.Fatalf("Deployment children %v, want %v", names, want)
		}
		if got := ui.FindElement("Deployment/Deadline").Text(); got != "2026-12-01T18:30:00Z" {
			t.Errorf("Deadline %q", got)
		}
		return
	}
	t.Fatal("the approved demo update was not delivered")
}

func itoa(v int32) string { return strconv.Itoa(int(v)) }
