package sqlstore_test

import (
	"fmt"
	"testing"
	"time"

	"wsus/catalog/storetest"
)

// seedComputers is the SQL inserting n computers behind the store's back,
// their last scans spread over 0 to 59 days ago (one in ten never), so
// that Stats counts every bucket. Per engine: SQLite stores times as
// TimeLayout text, PostgreSQL as timestamptz.
var seedComputers = map[string]string{
	"sqlite": `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < %[1]d)
		INSERT INTO computer (id, dns_name, registered, os_major, os_minor, os_build, os_description, os_locale,
			architecture, manufacturer, model, client_version, first_seen, last_sync)
		SELECT printf('%%08d-0000-4000-8000-000000000000', i), 'pc' || i, 1, 10, 0, 26100, 'Windows 11', 'en-US',
			'AMD64', 'Contoso', 'VM', '1.0', strftime('%%Y-%%m-%%dT%%H:%%M:%%S.000000000Z', 'now', '-90 days'),
			CASE WHEN i %% 10 = 0 THEN NULL ELSE strftime('%%Y-%%m-%%dT%%H:%%M:%%S.000000000Z', 'now', '-' || (i %% 60) || ' days') END
		FROM n`,
	"postgres": `INSERT INTO computer (id, dns_name, registered, os_major, os_minor, os_build, os_description, os_locale,
			architecture, manufacturer, model, client_version, first_seen, last_sync)
		SELECT lpad(i::text, 8, '0') || '-0000-4000-8000-000000000000', 'pc' || i, true, 10, 0, 26100, 'Windows 11', 'en-US',
			'AMD64', 'Contoso', 'VM', '1.0', now() - interval '90 days',
			CASE WHEN i %% 10 = 0 THEN NULL ELSE now() - (i %% 60) * interval '1 day' END
		FROM generate_series(1, %[1]d) AS i`,
}

// BenchmarkStats100k is what one scrape's read of the catalog statistics
// costs the store (internal/metrics reads it at most once per
// StatsMaxAge): 100,000 computers and a 20,000-revision catalog.
func BenchmarkStats100k(b *testing.B) {
	const computers = 100000
	for _, e := range engines() {
		b.Run(e.name, func(b *testing.B) {
			where := e.fresh(b)
			s := e.open(b, where)
			b.Cleanup(func() { s.Close() })
			if _, err := s.ImportRevisions(b.Context(), storetest.Synthetic(20000, "stats")); err != nil {
				b.Fatal(err)
			}
			if _, err := e.raw(b, where).ExecContext(b.Context(), fmt.Sprintf(seedComputers[e.name], computers)); err != nil {
				b.Fatal(err)
			}
			now := time.Now()
			since := []time.Time{now.Add(-24 * time.Hour), now.Add(-7 * 24 * time.Hour), now.Add(-30 * 24 * time.Hour)}
			b.ResetTimer()
			for b.Loop() {
				st, err := s.Stats(b.Context(), since)
				if err != nil {
					b.Fatal(err)
				}
				if st.Computers != computers || st.NeverContacted != computers/10 {
					b.Fatalf("Stats counted %d computers, %d never contacted; want %d, %d", st.Computers, st.NeverContacted, computers, computers/10)
				}
			}
		})
	}
}
