package wusp_test

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/beevik/etree"
	"github.com/google/uuid"

	"wsus/catalog"
	"wsus/catalog/scan"
	"wsus/soap/wusp"
)

// countingStore forwards to a real store and counts the calls of each
// method. It has exactly the methods of wusp.Store and scan.Source, so a
// method either interface gains must be added here, and counted.
type countingStore struct {
	inner catalog.Store

	mu    sync.Mutex
	calls map[string]int
}

var (
	_ wusp.Store  = (*countingStore)(nil)
	_ scan.Source = (*countingStore)(nil)
)

func (c *countingStore) count(method string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.calls == nil {
		c.calls = map[string]int{}
	}
	c.calls[method]++
}

// take returns the calls counted since the last take.
func (c *countingStore) take() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	calls := c.calls
	c.calls = nil
	if calls == nil {
		calls = map[string]int{}
	}
	return calls
}

func (c *countingStore) ServerInfo(ctx context.Context) (catalog.ServerInfo, error) {
	c.count("ServerInfo")
	return c.inner.ServerInfo(ctx)
}

func (c *countingStore) Fragments(ctx context.Context, ids []int32, typ catalog.FragmentType, languages []string) ([]catalog.Fragment, error) {
	c.count("Fragments")
	return c.inner.Fragments(ctx, ids, typ, languages)
}

func (c *countingStore) Files(ctx context.Context, ids []int32) (map[int32][]catalog.File, error) {
	c.count("Files")
	return c.inner.Files(ctx, ids)
}

func (c *countingStore) FileBySHA1(ctx context.Context, sha1 []byte) (catalog.File, error) {
	c.count("FileBySHA1")
	return c.inner.FileBySHA1(ctx, sha1)
}

func (c *countingStore) FileSources(ctx context.Context, sha1s [][]byte) (map[[20]byte]catalog.FileSource, error) {
	c.count("FileSources")
	return c.inner.FileSources(ctx, sha1s)
}

func (c *countingStore) RecordAuthorization(ctx context.Context, clientID, dnsName string, groups []string, at time.Time) error {
	c.count("RecordAuthorization")
	return c.inner.RecordAuthorization(ctx, clientID, dnsName, groups, at)
}

func (c *countingStore) RegisterComputer(ctx context.Context, comp catalog.Computer) error {
	c.count("RegisterComputer")
	return c.inner.RegisterComputer(ctx, comp)
}

func (c *countingStore) RecordSync(ctx context.Context, clientID string, at time.Time) error {
	c.count("RecordSync")
	return c.inner.RecordSync(ctx, clientID, at)
}

func (c *countingStore) RecordHardware(ctx context.Context, clientID string, h catalog.HardwareInventory) error {
	c.count("RecordHardware")
	return c.inner.RecordHardware(ctx, clientID, h)
}

func (c *countingStore) Computer(ctx context.Context, clientID string) (catalog.Computer, error) {
	c.count("Computer")
	return c.inner.Computer(ctx, clientID)
}

func (c *countingStore) StoreReport(ctx context.Context, r catalog.Report) (int, error) {
	c.count("StoreReport")
	return c.inner.StoreReport(ctx, r)
}

func (c *countingStore) CountEvents(ctx context.Context, clientID string, since time.Time) (int, error) {
	c.count("CountEvents")
	return c.inner.CountEvents(ctx, clientID, since)
}

func (c *countingStore) Summaries(ctx context.Context) ([]catalog.Summary, error) {
	c.count("Summaries")
	return c.inner.Summaries(ctx)
}

func (c *countingStore) Approvals(ctx context.Context) ([]catalog.Approval, error) {
	c.count("Approvals")
	return c.inner.Approvals(ctx)
}

func (c *countingStore) TargetGroups(ctx context.Context) ([]catalog.TargetGroup, error) {
	c.count("TargetGroups")
	return c.inner.TargetGroups(ctx)
}

func (c *countingStore) UpdateStates(ctx context.Context) ([]catalog.UpdateState, error) {
	c.count("UpdateStates")
	return c.inner.UpdateStates(ctx)
}

func (c *countingStore) ComputerGroupAssignments(ctx context.Context) (map[string][]uuid.UUID, error) {
	c.count("ComputerGroupAssignments")
	return c.inner.ComputerGroupAssignments(ctx)
}

func (c *countingStore) ChangeSequence(ctx context.Context) (int64, error) {
	c.count("ChangeSequence")
	return c.inner.ChangeSequence(ctx)
}

// replicaStore is what one process's services and scan engine read.
type replicaStore interface {
	wusp.Store
	scan.Source
}

// replica returns an env whose requests go to services of their own over
// store (another server process sharing e's store and cookie key), with
// e's clock.
func (e *env) replica(store replicaStore) *env {
	e.t.Helper()
	return e.replicaMaxAge(store, 0)
}

// replicaMaxAge is replica with a scan engine whose snapshots may be
// maxAge old (see scan.NewEngine).
func (e *env) replicaMaxAge(store replicaStore, maxAge time.Duration) *env {
	e.t.Helper()
	services, err := wusp.New(context.Background(), wusp.Config{
		Store: store, Engine: scan.NewEngine(store, maxAge), Sealer: e.sealer,
		Logger: slog.New(slog.DiscardHandler), Now: e.clock.now,
	})
	if err != nil {
		e.t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle(clientPath, services.Client())
	mux.Handle("/SimpleAuthWebService/SimpleAuth.asmx", services.SimpleAuth())
	mux.Handle(reportingPath, services.Reporting())
	srv := httptest.NewServer(mux)
	e.t.Cleanup(srv.Close)
	r := *e
	r.srv = srv
	return &r
}

// newCookie returns the NewCookie of a SyncUpdates answer as the cookie
// element of the next request.
func newCookie(t testing.TB, el *etree.Element) string {
	t.Helper()
	nc := el.FindElement("SyncUpdatesResult/NewCookie")
	if nc == nil {
		t.Fatalf("no NewCookie in %s (fault %q)", el.Tag, faultCode(el))
	}
	return "<cookie><Expiration>" + nc.FindElement("Expiration").Text() + "</Expiration><EncryptedData>" +
		nc.FindElement("EncryptedData").Text() + "</EncryptedData></cookie>"
}

// TestSteadyStateSyncAsksOnlyForTheChangeSequence: once a registered
// client's scan is under way, a delta SyncUpdates makes one store call, the
// change sequence: the registration check, the client's assigned groups and
// the Core fragments come from memory, and LastSync is written at most
// every LastSyncResolution. An assignment is read with the next snapshot,
// not per client.
func TestSteadyStateSyncAsksOnlyForTheChangeSequence(t *testing.T) {
	tests := []struct {
		name string
		// elsewhere: the client registers through another process, so this
		// one asks the store once whether it is registered.
		elsewhere     bool
		firstComputer int
	}{
		{"registered through this process", false, 0},
		{"registered through another process", true, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, envOptions{})
			ctx := context.Background()
			pilot := uuid.New()
			if err := e.store.CreateTargetGroup(ctx, catalog.TargetGroup{ID: pilot, Name: "Pilot", ParentID: catalog.AllComputersGroupID}); err != nil {
				t.Fatal(err)
			}
			counter := &countingStore{inner: e.store}
			r := e.replica(counter)
			registrar := r
			if tc.elsewhere {
				registrar = e
			}
			clientID, ck := registrar.login("")
			m, w, z, demo := e.ids[idMicrosoft], e.ids[idWindows], e.ids[idOOBEZDP], e.ids[idDemo]
			counter.take()

			sync := func(what string) map[string]int {
				t.Helper()
				status, el := r.syncUpdates(ck, []int32{m, w}, []int32{z, demo})
				if status != 200 {
					t.Fatalf("%s: HTTP %d fault %q", what, status, faultCode(el))
				}
				ck = newCookie(t, el)
				return counter.take()
			}
			if got := sync("first round")["Computer"]; got != tc.firstComputer {
				t.Errorf("first round: %d Computer calls, want %d", got, tc.firstComputer)
			}
			only := map[string]int{"ChangeSequence": 1}
			steps := []struct {
				name   string
				before func() error
				// want is every store call of the round; nil means check
				// only wantAssignments and that Computer is not called.
				want            map[string]int
				wantAssignments int
			}{
				{"a delta round", func() error { return nil }, only, 0},
				{"another delta round", func() error { return nil }, only, 0},
				{"after half the LastSync resolution", func() error { e.clock.advance(wusp.LastSyncResolution / 2); return nil }, only, 0},
				{"after the LastSync resolution", func() error { e.clock.advance(wusp.LastSyncResolution); return nil },
					map[string]int{"ChangeSequence": 1, "RecordSync": 1}, 0},
				{"after an assignment", func() error { return e.store.SetComputerGroups(ctx, clientID, []uuid.UUID{pilot}) }, nil, 1},
				{"a delta round in Pilot", func() error { return nil }, only, 0},
				{"after another client's authorization", func() error {
					return e.store.RecordAuthorization(ctx, uuid.NewString(), "pc-other", []string{"Pilot"}, time.Time{})
				}, only, 0},
			}
			for _, st := range steps {
				if err := st.before(); err != nil {
					t.Fatalf("%s: %v", st.name, err)
				}
				got := sync(st.name)
				if st.want != nil {
					if !maps.Equal(got, st.want) {
						t.Errorf("%s: store calls %v, want %v", st.name, got, st.want)
					}
					continue
				}
				if got["Computer"] != 0 || got["ComputerGroupAssignments"] != st.wantAssignments {
					t.Errorf("%s: store calls %v, want no Computer and %d ComputerGroupAssignments", st.name, got, st.wantAssignments)
				}
			}
		})
	}
}

// TestSteadyStateSyncMakesNoStoreCall: with a snapshot that may be an hour
// old, a delta SyncUpdates of a registered client makes no store call at
// all (LastSync aside, written at most every LastSyncResolution).
func TestSteadyStateSyncMakesNoStoreCall(t *testing.T) {
	e := newEnv(t, envOptions{})
	counter := &countingStore{inner: e.store}
	r := e.replicaMaxAge(counter, time.Hour)
	_, ck := r.login("")
	m, w, z, demo := e.ids[idMicrosoft], e.ids[idWindows], e.ids[idOOBEZDP], e.ids[idDemo]
	for i := range 4 {
		status, el := r.syncUpdates(ck, []int32{m, w}, []int32{z, demo})
		if status != 200 {
			t.Fatalf("round %d: HTTP %d fault %q", i, status, faultCode(el))
		}
		ck = newCookie(t, el)
		calls := counter.take()
		if i == 0 {
			continue // the first round builds the snapshot and writes LastSync
		}
		if len(calls) != 0 {
			t.Errorf("round %d: store calls %v, want none", i, calls)
		}
	}
}

// TestRegistrationSeenAcrossProcesses: a client refused as not registered
// is asked about again (it may register through another process), and once
// registered it is never asked about again.
func TestRegistrationSeenAcrossProcesses(t *testing.T) {
	e := newEnv(t, envOptions{})
	counter := &countingStore{inner: e.store}
	r := e.replica(counter)
	clientID, ck := e.authorize("")
	steps := []struct {
		name      string
		before    func()
		fault     string
		computers int
	}{
		{"before RegisterComputer", func() {}, "RegistrationRequired", 1},
		{"again before RegisterComputer", func() {}, "RegistrationRequired", 1},
		{"registered through another process", func() { e.register(clientID, ck) }, "", 1},
		{"registered, seen already", func() {}, "", 0},
		{"registered, seen already, again", func() {}, "", 0},
	}
	for _, st := range steps {
		st.before()
		counter.take()
		_, el := r.syncUpdates(ck, nil, nil)
		if got := faultCode(el); got != st.fault {
			t.Errorf("%s: fault %q, want %q", st.name, got, st.fault)
		}
		if got := counter.take()["Computer"]; got != st.computers {
			t.Errorf("%s: %d Computer calls, want %d", st.name, got, st.computers)
		}
	}
}

// TestAssignmentReachesTheNextScan: server-side targeting, with the groups
// read from the snapshot. A computer an admin assigns to a group gets that
// group's approvals at its next SyncUpdates, on the process the assignment
// went through and on another one whose snapshot predates it; removing the
// assignment takes them away again.
func TestAssignmentReachesTheNextScan(t *testing.T) {
	e := newEnv(t, envOptions{})
	ctx := context.Background()
	pilot := uuid.New()
	if err := e.store.CreateTargetGroup(ctx, catalog.TargetGroup{ID: pilot, Name: "Pilot", ParentID: catalog.AllComputersGroupID}); err != nil {
		t.Fatal(err)
	}
	// The demo update goes to Pilot only.
	for _, a := range []catalog.Approval{
		{UpdateID: idDemo, GroupID: catalog.AllComputersGroupID, Action: catalog.ActionNotApproved},
		{UpdateID: idDemo, GroupID: pilot, Action: catalog.ActionInstall},
	} {
		if _, err := e.store.SetApproval(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	other := e.replica(e.store)
	clientID, ck := e.login("")
	m, w, demo := e.ids[idMicrosoft], e.ids[idWindows], e.ids[idDemo]
	// demoAction is how a scan of the client on node offers the demo update,
	// the client caching nothing but the categories it installed.
	demoAction := func(node *env) string {
		t.Helper()
		status, el := node.syncUpdates(ck, []int32{m, w}, nil)
		if status != 200 {
			t.Fatalf("HTTP %d fault %q", status, faultCode(el))
		}
		for _, u := range newUpdates(t, el) {
			if u.id == demo {
				return u.action
			}
		}
		return ""
	}
	assign := func(groups ...uuid.UUID) func() {
		return func() {
			if err := e.store.SetComputerGroups(ctx, clientID, groups); err != nil {
				t.Fatal(err)
			}
		}
	}
	steps := []struct {
		name   string
		before func()
		want   string
	}{
		{"not assigned", func() {}, "PreDeploymentCheck"},
		{"assigned to Pilot", assign(pilot), "Install"},
		{"still in Pilot", func() {}, "Install"},
		{"removed from Pilot", assign(), "PreDeploymentCheck"},
		{"assigned to Pilot again", assign(pilot), "Install"},
	}
	for _, st := range steps {
		st.before()
		for _, node := range []struct {
			name string
			env  *env
		}{{"this process", e}, {"another process", other}} {
			if got := demoAction(node.env); got != st.want {
				t.Errorf("%s, scan on %s: demo update offered as %q, want %q", st.name, node.name, got, st.want)
			}
		}
	}
	// Another client, never assigned, is not affected.
	_, ck2 := e.login("")
	ck = ck2
	if got := demoAction(other); got != "PreDeploymentCheck" {
		t.Errorf("a client in no group: demo update offered as %q, want PreDeploymentCheck", got)
	}
}

// TestAssignmentChangesCachedUpdates: a client that caches the demo update
// (offered for detection only) is assigned to Pilot, where the update was
// approved before the client's anchor. Its next round, with the cookie of
// the last one, lists the update under ChangedUpdates with the Pilot
// deployment; the round after that lists nothing.
func TestAssignmentChangesCachedUpdates(t *testing.T) {
	e := newEnv(t, envOptions{})
	ctx := context.Background()
	pilot := uuid.New()
	if err := e.store.CreateTargetGroup(ctx, catalog.TargetGroup{ID: pilot, Name: "Pilot", ParentID: catalog.AllComputersGroupID}); err != nil {
		t.Fatal(err)
	}
	var approval catalog.Approval
	for _, a := range []catalog.Approval{
		{UpdateID: idDemo, GroupID: catalog.AllComputersGroupID, Action: catalog.ActionNotApproved},
		{UpdateID: idDemo, GroupID: pilot, Action: catalog.ActionInstall},
	} {
		var err error
		if approval, err = e.store.SetApproval(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	clientID, ck := e.login("")
	m, w, z, demo := e.ids[idMicrosoft], e.ids[idWindows], e.ids[idOOBEZDP], e.ids[idDemo]
	// round runs SyncUpdates with the cookie of the previous round and
	// returns the changed updates as "ID Action".
	round := func(name string) []string {
		t.Helper()
		status, el := e.syncUpdates(ck, []int32{m, w}, []int32{z, demo})
		if status != 200 {
			t.Fatalf("%s: HTTP %d fault %q", name, status, faultCode(el))
		}
		res := el.FindElement("SyncUpdatesResult")
		ck = "<cookie><Expiration>" + res.FindElement("NewCookie/Expiration").Text() + "</Expiration><EncryptedData>" +
			res.FindElement("NewCookie/EncryptedData").Text() + "</EncryptedData></cookie>"
		var changed []string
		for _, ui := range res.FindElements("ChangedUpdates/UpdateInfo") {
			changed = append(changed, ui.FindElement("ID").Text()+" "+ui.FindElement("Deployment/Action").Text()+
				" "+ui.FindElement("Deployment/ID").Text())
		}
		return changed
	}
	round("first round: a fresh cookie has no anchor, every cached update counts as changed")
	if got := round("cached, in no group"); got != nil {
		t.Fatalf("cached, in no group: ChangedUpdates %v, want none", got)
	}
	if err := e.store.SetComputerGroups(ctx, clientID, []uuid.UUID{pilot}); err != nil {
		t.Fatal(err)
	}
	want := []string{fmt.Sprintf("%d Install %d", demo, approval.ID)}
	if got := round("assigned to Pilot"); !slices.Equal(got, want) {
		t.Errorf("assigned to Pilot: ChangedUpdates %v, want %v", got, want)
	}
	if got := round("still in Pilot"); got != nil {
		t.Errorf("still in Pilot: ChangedUpdates %v, want none", got)
	}
}

// TestSyncUpdatesHandsBackAnUnchangedCookie: a round that changes nothing
// in the session answers with the cookie it got, byte for byte (no sealing);
// one that moves the anchor seals a new one. Cookies spelled unlike ours
// (line breaks in the base64, character references) are read all the same
// and answered with a cookie of our own spelling.
func TestSyncUpdatesHandsBackAnUnchangedCookie(t *testing.T) {
	e := newEnv(t, envOptions{})
	_, ck := e.login("")
	m, w, z, demo := e.ids[idMicrosoft], e.ids[idWindows], e.ids[idOOBEZDP], e.ids[idDemo]
	data := func(cookieXML string) string {
		t.Helper()
		_, rest, _ := strings.Cut(cookieXML, "<EncryptedData>")
		d, _, _ := strings.Cut(rest, "</EncryptedData>")
		return d
	}
	round := func(name, ck string) string {
		t.Helper()
		status, el := e.syncUpdates(ck, []int32{m, w}, []int32{z, demo})
		if status != 200 {
			t.Fatalf("%s: HTTP %d fault %q", name, status, faultCode(el))
		}
		return newCookie(t, el)
	}
	first := round("first round: the anchor moves", ck)
	if data(first) == data(ck) {
		t.Errorf("first round: the cookie came back unchanged, want a new one (the anchor moved)")
	}
	second := round("a delta round", first)
	if data(second) != data(first) {
		t.Errorf("a delta round: got a new cookie, want the one sent back byte for byte")
	}
	d := data(second)
	respelled := []struct{ name, data string }{
		{"line breaks in the base64", d[:10] + "\r\n" + d[10:]},
		{"a character reference", strings.Replace(d, d[:1], "&#"+strconv.Itoa(int(d[0]))+";", 1)},
	}
	for _, r := range respelled {
		got := round(r.name, strings.Replace(second, d, r.data, 1))
		if gd := data(got); gd == r.data || strings.ContainsAny(gd, "\r\n&") {
			t.Errorf("%s: answered with EncryptedData %q, want our own spelling", r.name, gd)
		}
	}
}
