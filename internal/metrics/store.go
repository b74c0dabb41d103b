package metrics

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"wsus/catalog"
)

// Catalog returns s with the calls of the request path timed
// (wsus_store_operation_duration_seconds) and their failures counted
// (wsus_store_errors_total), by method name.
//
// The timed methods are the ones clients' requests make: every method of
// the SOAP services' store (wusp.Store) and of the scan engine's
// (scan.Source), which together are what a fleet's load puts on the store.
// The admin API, synchronization and the approval rules call the others
// through the embedded Store, untimed: wrapping all of catalog.Store's
// methods would time calls an operator does not wait on and cost a
// wrapper to keep in step with every new method. A failure is counted by
// class (unavailable, conflict, invalid, canceled, timeout, other); not
// found is an answer, not a failure.
//
// Ping is s's when it has one (nil otherwise: ready), as /readyz checks;
// Stats (catalog.StatsStore) is s's, which every store of this repository
// has.
func (m *Metrics) Catalog(s catalog.Store) catalog.Store {
	return &catalogStore{Store: s, m: m.store}
}

// catalogStore is the decorator Catalog returns.
type catalogStore struct {
	catalog.Store
	m *opMetrics
}

var _ interface {
	Ping(ctx context.Context) error
} = (*catalogStore)(nil)

// storeClass names a catalog store failure; "" for not found.
func storeClass(err error) string {
	switch {
	case errors.Is(err, catalog.ErrNotFound):
		return ""
	case errors.Is(err, catalog.ErrUnavailable):
		return "unavailable"
	case errors.Is(err, catalog.ErrConflict):
		return "conflict"
	case errors.Is(err, catalog.ErrInvalid):
		return "invalid"
	}
	if c := contextClass(err); c != "" {
		return c
	}
	return "other"
}

// timed runs one call of op and records it.
func timed[T any](c *catalogStore, op string, call func() (T, error)) (T, error) {
	start := time.Now()
	v, err := call()
	c.m.observe(op, start, err, storeClass)
	return v, err
}

// timedErr is timed for a call that returns only an error.
func timedErr(c *catalogStore, op string, call func() error) error {
	start := time.Now()
	err := call()
	c.m.observe(op, start, err, storeClass)
	return err
}

// Stats is the store's (catalog.StatsStore), timed; an error when the
// store has none.
func (c *catalogStore) Stats(ctx context.Context, since []time.Time) (catalog.Stats, error) {
	ss, ok := c.Store.(catalog.StatsStore)
	if !ok {
		return catalog.Stats{}, fmt.Errorf("metrics: %T has no Stats", c.Store)
	}
	return timed(c, "Stats", func() (catalog.Stats, error) { return ss.Stats(ctx, since) })
}

// Ping is the store's, timed; nil when it cannot tell.
func (c *catalogStore) Ping(ctx context.Context) error {
	p, ok := c.Store.(interface {
		Ping(ctx context.Context) error
	})
	if !ok {
		return nil
	}
	return timedErr(c, "Ping", func() error { return p.Ping(ctx) })
}

// ServerInfo is the store's, timed.
func (c *catalogStore) ServerInfo(ctx context.Context) (catalog.ServerInfo, error) {
	return timed(c, "ServerInfo", func() (catalog.ServerInfo, error) { return c.Store.ServerInfo(ctx) })
}

// Fragments is the store's, timed.
func (c *catalogStore) Fragments(ctx context.Context, ids []int32, typ catalog.FragmentType, languages []string) ([]catalog.Fragment, error) {
	return timed(c, "Fragments", func() ([]catalog.Fragment, error) { return c.Store.Fragments(ctx, ids, typ, languages) })
}

// Files is the store's, timed.
func (c *catalogStore) Files(ctx context.Context, ids []int32) (map[int32][]catalog.File, error) {
	return timed(c, "Files", func() (map[int32][]catalog.File, error) { return c.Store.Files(ctx, ids) })
}

// FileBySHA1 is the store's, timed.
func (c *catalogStore) FileBySHA1(ctx context.Context, sha1 []byte) (catalog.File, error) {
	return timed(c, "FileBySHA1", func() (catalog.File, error) { return c.Store.FileBySHA1(ctx, sha1) })
}

// FileSources is the store's, timed.
func (c *catalogStore) FileSources(ctx context.Context, sha1s [][]byte) (map[[20]byte]catalog.FileSource, error) {
	return timed(c, "FileSources", func() (map[[20]byte]catalog.FileSource, error) { return c.Store.FileSources(ctx, sha1s) })
}

// RecordAuthorization is the store's, timed.
func (c *catalogStore) RecordAuthorization(ctx context.Context, clientID, dnsName string, groups []string, at time.Time) error {
	return timedErr(c, "RecordAuthorization", func() error { return c.Store.RecordAuthorization(ctx, clientID, dnsName, groups, at) })
}

// RegisterComputer is the store's, timed.
func (c *catalogStore) RegisterComputer(ctx context.Context, comp catalog.Computer) error {
	return timedErr(c, "RegisterComputer", func() error { return c.Store.RegisterComputer(ctx, comp) })
}

// RecordSync is the store's, timed.
func (c *catalogStore) RecordSync(ctx context.Context, clientID string, at time.Time) error {
	return timedErr(c, "RecordSync", func() error { return c.Store.RecordSync(ctx, clientID, at) })
}

// RecordHardware is the store's, timed.
func (c *catalogStore) RecordHardware(ctx context.Context, clientID string, h catalog.HardwareInventory) error {
	return timedErr(c, "RecordHardware", func() error { return c.Store.RecordHardware(ctx, clientID, h) })
}

// Computer is the store's, timed.
func (c *catalogStore) Computer(ctx context.Context, clientID string) (catalog.Computer, error) {
	return timed(c, "Computer", func() (catalog.Computer, error) { return c.Store.Computer(ctx, clientID) })
}

// StoreReport is the store's, timed.
func (c *catalogStore) StoreReport(ctx context.Context, r catalog.Report) (int, error) {
	return timed(c, "StoreReport", func() (int, error) { return c.Store.StoreReport(ctx, r) })
}

// CountEvents is the store's, timed.
func (c *catalogStore) CountEvents(ctx context.Context, clientID string, since time.Time) (int, error) {
	return timed(c, "CountEvents", func() (int, error) { return c.Store.CountEvents(ctx, clientID, since) })
}

// Summaries is the store's, timed.
func (c *catalogStore) Summaries(ctx context.Context) ([]catalog.Summary, error) {
	return timed(c, "Summaries", func() ([]catalog.Summary, error) { return c.Store.Summaries(ctx) })
}

// Approvals is the store's, timed.
func (c *catalogStore) Approvals(ctx context.Context) ([]catalog.Approval, error) {
	return timed(c, "Approvals", func() ([]catalog.Approval, error) { return c.Store.Approvals(ctx) })
}

// TargetGroups is the store's, timed.
func (c *catalogStore) TargetGroups(ctx context.Context) ([]catalog.TargetGroup, error) {
	return timed(c, "TargetGroups", func() ([]catalog.TargetGroup, error) { return c.Store.TargetGroups(ctx) })
}

// UpdateStates is the store's, timed.
func (c *catalogStore) UpdateStates(ctx context.Context) ([]catalog.UpdateState, error) {
	return timed(c, "UpdateStates", func() ([]catalog.UpdateState, error) { return c.Store.UpdateStates(ctx) })
}

// ComputerGroupAssignments is the store's, timed.
func (c *catalogStore) ComputerGroupAssignments(ctx context.Context) (map[string][]uuid.UUID, error) {
	return timed(c, "ComputerGroupAssignments", func() (map[string][]uuid.UUID, error) { return c.Store.ComputerGroupAssignments(ctx) })
}

// ChangeSequence is the store's, timed.
func (c *catalogStore) ChangeSequence(ctx context.Context) (int64, error) {
	return timed(c, "ChangeSequence", func() (int64, error) { return c.Store.ChangeSequence(ctx) })
}
