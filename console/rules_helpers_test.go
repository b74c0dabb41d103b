package console_test

import (
	"context"
	"sync/atomic"
	"time"

	"wsus/catalog/admin"
	"wsus/catalog/rules"
)

// planCounter is the API's rules runner with its plans counted: a plan
// loads and decides the whole catalog, so a page's cost is its plans.
type planCounter struct {
	runner *rules.Runner
	plans  atomic.Int64
}

var _ admin.RulesRunner = (*planCounter)(nil)

// Run runs the rules.
func (c *planCounter) Run(ctx context.Context, now time.Time) (rules.Report, error) {
	return c.runner.Run(ctx, now)
}

// Plan plans the rules and counts it.
func (c *planCounter) Plan(ctx context.Context, now time.Time) (rules.Report, error) {
	c.plans.Add(1)
	return c.runner.Plan(ctx, now)
}

// countPlans serves h's API and console again with a runner whose plans
// are counted (people signed in before keep the old server).
func (h *harness) countPlans() *planCounter {
	h.t.Helper()
	runner, err := rules.New(rules.Config{Store: h.store, Holder: "console-test-counted"})
	if err != nil {
		h.t.Fatal(err)
	}
	c := &planCounter{runner: runner}
	h.srv = h.serve(admin.Options{Rules: c})
	return c
}
