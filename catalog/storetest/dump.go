package storetest

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"

	"wsus/catalog"
)

// Snapshot is everything a catalog.Store hands back about its catalog,
// read through the Store methods alone, so that it can be compared across
// store versions: what one program wrote and another reads. Lists keep the
// order the store returned; maps are keyed as noted and encode with sorted
// keys. Its JSON (see JSON) is the golden form.
type Snapshot struct {
	ServerInfo     catalog.ServerInfo
	ChangeSequence int64
	Summaries      []catalog.Summary
	// Revisions is Revision of every summary's ID, in Summaries order.
	Revisions []*catalog.Revision
	// Fragments is, per fragment type, Fragments of every revision ID with
	// every language some revision holds (FragmentLanguages).
	Fragments map[catalog.FragmentType][]catalog.Fragment
	// FragmentLanguages is, per LocalizedProperties and Eula, the languages
	// Fragments asked for: those of the revisions' fragments, sorted.
	FragmentLanguages map[catalog.FragmentType][]string
	// Files is Files of every revision ID.
	Files map[int32][]catalog.File
	// FileBySHA1 is FileBySHA1 of every file's SHA-1, keyed by its hex.
	FileBySHA1               map[string]catalog.File
	TargetGroups             []catalog.TargetGroup
	Approvals                []catalog.Approval
	UpdateStates             []catalog.UpdateState
	Computers                []catalog.Computer
	ComputerGroupAssignments map[string][]uuid.UUID
	// Computer, Events, Statuses and EventCounts are keyed by the client ID
	// of every computer of Computers.
	Computer    map[string]catalog.Computer
	Events      map[string][]catalog.Event
	Statuses    map[string][]catalog.UpdateStatus
	EventCounts map[string][]EventCount
}

// EventCount is one CountEvents answer.
type EventCount struct {
	Since time.Time
	Count int
}

// Dump reads everything s returns into a Snapshot. It only reads: the
// one write it may cause is ServerInfo creating the identity of a store
// that had none. CountEvents is asked, per computer, since each distinct
// Received time of its events and one microsecond after it, so that every
// answer depends only on stored times.
func Dump(ctx context.Context, s catalog.Store) (Snapshot, error) {
	var sn Snapshot
	var err error
	fail := func(what string, err error) (Snapshot, error) {
		return Snapshot{}, fmt.Errorf("storetest: dump: %s: %w", what, err)
	}
	if sn.ServerInfo, err = s.ServerInfo(ctx); err != nil {
		return fail("ServerInfo", err)
	}
	if sn.ChangeSequence, err = s.ChangeSequence(ctx); err != nil {
		return fail("ChangeSequence", err)
	}
	if sn.Summaries, err = s.Summaries(ctx); err != nil {
		return fail("Summaries", err)
	}
	ids := make([]int32, len(sn.Summaries))
	langs := map[catalog.FragmentType]map[string]bool{
		catalog.FragmentLocalizedProperties: {}, catalog.FragmentEula: {},
	}
	for i, sm := range sn.Summaries {
		ids[i] = sm.ID
		r, err := s.Revision(ctx, sm.ID)
		if err != nil {
			return fail(fmt.Sprintf("Revision %d", sm.ID), err)
		}
		sn.Revisions = append(sn.Revisions, r)
		for l := range r.Localized {
			langs[catalog.FragmentLocalizedProperties][l] = true
		}
		for l := range r.Eulas {
			langs[catalog.FragmentEula][l] = true
		}
	}
	sn.Fragments = map[catalog.FragmentType][]catalog.Fragment{}
	sn.FragmentLanguages = map[catalog.FragmentType][]string{}
	for _, typ := range []catalog.FragmentType{catalog.FragmentCore, catalog.FragmentExtended,
		catalog.FragmentLocalizedProperties, catalog.FragmentEula} {
		var ls []string
		for l := range langs[typ] {
			ls = append(ls, l)
		}
		slices.Sort(ls)
		if ls != nil {
			sn.FragmentLanguages[typ] = ls
		}
		if sn.Fragments[typ], err = s.Fragments(ctx, ids, typ, ls); err != nil {
			return fail("Fragments "+string(typ), err)
		}
	}
	if sn.Files, err = s.Files(ctx, ids); err != nil {
		return fail("Files", err)
	}
	sn.FileBySHA1 = map[string]catalog.File{}
	for _, fs := range sn.Files {
		for _, f := range fs {
			key := hex.EncodeToString(f.SHA1)
			if _, done := sn.FileBySHA1[key]; done {
				continue
			}
			if sn.FileBySHA1[key], err = s.FileBySHA1(ctx, f.SHA1); err != nil {
				return fail("FileBySHA1 "+key, err)
			}
		}
	}
	if sn.TargetGroups, err = s.TargetGroups(ctx); err != nil {
		return fail("TargetGroups", err)
	}
	if sn.Approvals, err = s.Approvals(ctx); err != nil {
		return fail("Approvals", err)
	}
	if sn.UpdateStates, err = s.UpdateStates(ctx); err != nil {
		return fail("UpdateStates", err)
	}
	if sn.Computers, err = s.Computers(ctx); err != nil {
		return fail("Computers", err)
	}
	if sn.ComputerGroupAssignments, err = s.ComputerGroupAssignments(ctx); err != nil {
		return fail("ComputerGroupAssignments", err)
	}
	sn.Computer = map[string]catalog.Computer{}
	sn.Events = map[string][]catalog.Event{}
	sn.Statuses = map[string][]catalog.UpdateStatus{}
	sn.EventCounts = map[string][]EventCount{}
	for _, c := range sn.Computers {
		id := c.ID
		if sn.Computer[id], err = s.Computer(ctx, id); err != nil {
			return fail(fmt.Sprintf("Computer %q", id), err)
		}
		evs, err := s.Events(ctx, id)
		if err != nil {
			return fail(fmt.Sprintf("Events %q", id), err)
		}
		sn.Events[id] = evs
		if sn.Statuses[id], err = s.Statuses(ctx, id); err != nil {
			return fail(fmt.Sprintf("Statuses %q", id), err)
		}
		var since []time.Time
		for _, e := range evs {
			since = append(since, e.Received, e.Received.Add(time.Microsecond))
		}
		slices.SortFunc(since, time.Time.Compare)
		since = slices.CompactFunc(since, time.Time.Equal)
		for _, at := range since {
			n, err := s.CountEvents(ctx, id, at)
			if err != nil {
				return fail(fmt.Sprintf("CountEvents %q since %s", id, at), err)
			}
			sn.EventCounts[id] = append(sn.EventCounts[id], EventCount{Since: at, Count: n})
		}
	}
	return sn, nil
}

// JSON returns the snapshot as indented JSON ending in a newline: times in
// RFC 3339 with their stored precision, digests in base64, map keys sorted.
func (sn Snapshot) JSON() ([]byte, error) {
	b, err := json.MarshalIndent(sn, "", "\t")
	if err != nil {
		return nil, fmt.Errorf("storetest: snapshot: %w", err)
	}
	return append(b, '\n'), nil
}
