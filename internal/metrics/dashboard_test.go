package metrics

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"wsus/soap"
)

// dashboardPath is the Grafana dashboard shipped with the repository.
var dashboardPath = filepath.Join("..", "..", "deploy", "grafana", "wsus-dashboard.json")

// dashboard is the part of a Grafana dashboard the test reads.
type dashboard struct {
	Templating struct {
		List []struct {
			Name, Type string
		}
	}
	Panels []dashboardPanel
}

type dashboardPanel struct {
	Type, Title string
	Datasource  struct{ UID string }
	Targets     []struct{ Expr string }
	Panels      []dashboardPanel // a collapsed row's
}

// exportedFamilies returns the name of every family a server's metrics
// describe (with every option set, so that every collector is there),
// whether or not it has a series yet.
func exportedFamilies(t *testing.T) map[string]bool {
	t.Helper()
	s := openSQLite(t)
	m := New(Options{Admission: soap.NewAdmission(0, 0, 0), Stats: s, SyncRuns: s})
	ch := make(chan *prometheus.Desc)
	go func() {
		m.reg.Describe(ch)
		close(ch)
	}()
	// Desc has no name accessor; its String() names it as fqName: "...".
	re := regexp.MustCompile(`fqName: "([^"]+)"`)
	names := map[string]bool{}
	for d := range ch {
		match := re.FindStringSubmatch(d.String())
		if match == nil {
			t.Fatalf("cannot read a family name from %s", d)
		}
		names[match[1]] = true
	}
	if !names["wsus_build_info"] || !names["go_goroutines"] {
		t.Fatalf("families described: %v; want wsus_build_info and go_goroutines among them", names)
	}
	return names
}

// metricName matches a metric name in a PromQL expression of the
// dashboard: every family it uses is wsus_*, go_* or process_*.
var metricName = regexp.MustCompile(`\b(?:wsus|go|process)_[a-zA-Z0-9_]*`)

// TestDashboard checks deploy/grafana/wsus-dashboard.json: the data source
// is the ${DS_PROMETHEUS} variable and every query is limited to the
// $instance variable; every metric a query names is one the server
// exports (histograms through _bucket, _sum, _count), so that the
// dashboard cannot drift from the code; and every wsus_ family is shown
// by some panel.
func TestDashboard(t *testing.T) {
	raw, err := os.ReadFile(dashboardPath)
	if err != nil {
		t.Fatal(err)
	}
	var d dashboard
	if err := json.Unmarshal(raw, &d); err != nil {
		t.Fatalf("%s: %v", dashboardPath, err)
	}
	vars := map[string]string{}
	for _, v := range d.Templating.List {
		vars[v.Name] = v.Type
	}
	if vars["DS_PROMETHEUS"] != "datasource" || vars["instance"] != "query" {
		t.Errorf("template variables %v, want DS_PROMETHEUS (datasource) and instance (query)", vars)
	}

	exported := exportedFamilies(t)
	used := map[string]bool{}
	var walk func([]dashboardPanel)
	walk = func(panels []dashboardPanel) {
		for _, p := range panels {
			if p.Type == "row" {
				walk(p.Panels)
				continue
			}
			if p.Datasource.UID != "${DS_PROMETHEUS}" {
				t.Errorf("panel %q: data source %q, want ${DS_PROMETHEUS}", p.Title, p.Datasource.UID)
			}
			if len(p.Targets) == 0 {
				t.Errorf("panel %q has no query", p.Title)
			}
			for _, tg := range p.Targets {
				if !strings.Contains(tg.Expr, `instance=~"$instance"`) {
					t.Errorf("panel %q: query %q is not limited to $instance", p.Title, tg.Expr)
				}
				for _, name := range metricName.FindAllString(tg.Expr, -1) {
					family := name
					if !exported[family] {
						for _, suffix := range []string{"_bucket", "_sum", "_count"} {
							if base, ok := strings.CutSuffix(name, suffix); ok && exported[base] {
								family = base
							}
						}
					}
					if !exported[family] {
						t.Errorf("panel %q: %s is not a metric the server exports", p.Title, name)
					}
					used[family] = true
				}
			}
		}
	}
	walk(d.Panels)
	var missing []string
	for name := range exported {
		if strings.HasPrefix(name, "wsus_") && !used[name] {
			missing = append(missing, name)
		}
	}
	slices.Sort(missing)
	if len(missing) > 0 {
		t.Errorf("no panel shows %v", missing)
	}
}
