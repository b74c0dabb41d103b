package catalog

import "time"

// The synchronization schedule: SyncSettings.FirstSync after midnight UTC,
// then every 24h/SyncsPerDay (WSUS's "first synchronization" and
// "synchronizations per day"). The scheduler of a serving process
// (sync/syncer.Service) runs a synchronization when NextSync is not after
// now, and the admin API answers NextSync as the next synchronization
// (GET /api/v1/sync, next_sync): one computation, so the two never
// disagree.

// LastSlot returns the most recent scheduled time at or before now. ok is
// false when no schedule is set (SyncsPerDay 0: manually only).
func (s SyncSettings) LastSlot(now time.Time) (slot time.Time, ok bool) {
	if s.SyncsPerDay <= 0 {
		return time.Time{}, false
	}
	now = now.UTC()
	every := s.syncInterval()
	midnight := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	first := midnight.Add(s.FirstSync % every)
	if first.After(now) {
		first = first.Add(-every)
	}
	return first.Add(now.Sub(first) / every * every), true
}

// syncInterval is the time between two scheduled slots; SyncsPerDay must
// be positive.
func (s SyncSettings) syncInterval() time.Duration {
	return 24 * time.Hour / time.Duration(s.SyncsPerDay)
}

// NextSync returns when the schedule synchronizes next, given when the
// newest run started (zero when none ever did): the last slot when it has
// passed with no run started since and the settings were not changed
// after it (the run is due: at or before now), else the first slot after
// now (a schedule set after a slot starts with the next one). ok is false
// when nothing is scheduled: no schedule, or no upstream to synchronize
// from.
func (s SyncSettings) NextSync(lastStarted, now time.Time) (next time.Time, ok bool) {
	slot, ok := s.LastSlot(now)
	if !ok || s.UpstreamURL == "" {
		return time.Time{}, false
	}
	if !s.ChangedAt.After(slot) && lastStarted.Before(slot) {
		return slot, true
	}
	return slot.Add(s.syncInterval()), true
}
