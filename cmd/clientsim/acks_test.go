package main

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"wsus/clientsim/load"
)

// clientsim load --acks FILE writes one line per acknowledged
// ReportEventBatch, whose events the server then holds, and the JSON
// report counts them; the flag given twice is a usage error.
func TestLoadCommandAcks(t *testing.T) {
	base, store := startDemo(t)
	path := filepath.Join(t.TempDir(), "acks.jsonl")
	var out, errOut strings.Builder
	code := run(context.Background(), []string{"load", "--server", base, "--clients", "2", "--iterations", "1", "--mode", "first-scan",
		"--install", "--json", "--acks", path}, &out, &errOut, "")
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, errOut.String())
	}
	var rep struct {
		Acknowledged load.AckTotals `json:"acknowledged"`
		AckError     string         `json:"ack_error"`
	}
	if err := json.Unmarshal([]byte(out.String()), &rep); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var batches, events int
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var a load.Ack
		if err := json.Unmarshal(sc.Bytes(), &a); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		kept, err := store.Events(context.Background(), a.ClientID)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range a.Events {
			found := false
			for _, k := range kept {
				found = found || (k.InstanceID.String() == e.InstanceID && k.EventID == e.EventID)
			}
			if !found {
				t.Errorf("client %s: acknowledged event %+v not stored", a.ClientID, e)
			}
		}
		batches++
		events += len(a.Events)
	}
	// Two clients, each a first scan's batch and its install results.
	if batches != 4 || rep.Acknowledged != (load.AckTotals{Batches: 4, Events: events}) || rep.AckError != "" {
		t.Errorf("%d lines of %d events; report %+v", batches, events, rep)
	}
	if !strings.Contains(errOut.String(), "acknowledged reports: 4 ReportEventBatch calls, ") {
		t.Errorf("the table does not count them:\n%s", errOut.String())
	}

	errOut.Reset()
	if code := run(context.Background(), []string{"load", "--server", base, "--acks", path, "--acks", path}, &out, &errOut, ""); code != 2 ||
		!strings.Contains(errOut.String(), `invalid value "`+path+`" for flag -acks: given twice`) {
		t.Errorf("--acks twice: exit %d\n%s", code, errOut.String())
	}
}
