package rulestest

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"wsus/catalog"
	"wsus/catalog/admin"
)

// TestEveryRingStatus checks GET /api/v1/rings/status against the
// per-ring read it gathers: every ring, in the order of GET
// /api/v1/rings, each answering what GET /api/v1/rings/{id}/status
// answers; limit cuts the lists and keeps the totals; a bad query is
// refused; a viewer reads it; a process without rules answers 503.
func TestEveryRingStatus(t *testing.T) {
	eachEngine(t, func(t *testing.T, s *server) {
		viewer := s.token("helpdesk", catalog.RoleViewer)
		s.want("rule", s.do(bootstrapToken, http.MethodPost, "/api/v1/rules", monthlyRule), http.StatusCreated, "", nil)
		s.want("pilot", s.do(bootstrapToken, http.MethodPost, "/api/v1/rings", pilotRing("Monthly")), http.StatusCreated, "", nil)
		s.want("broad", s.do(bootstrapToken, http.MethodPost, "/api/v1/rings", broadRing), http.StatusCreated, "", nil)
		// Day 1: the pilot would approve update 1 and waits on update 2
		// (released a day later); the broad ring waits on both.
		s.clock.add(24 * time.Hour)

		var rings admin.RingList
		s.want("rings", s.do(viewer, http.MethodGet, "/api/v1/rings", ""), http.StatusOK, "", &rings)
		var all admin.RingStatusList
		s.want("every status", s.do(viewer, http.MethodGet, "/api/v1/rings/status", ""), http.StatusOK, "", &all)
		if len(all.Rings) != len(rings.Rings) || len(all.Rings) != 2 {
			t.Fatalf("%d statuses for %d rings", len(all.Rings), len(rings.Rings))
		}
		for i, st := range all.Rings {
			if st.Ring.ID != rings.Rings[i].ID {
				t.Errorf("status %d is ring %s, want %s (the rings' order)", i, st.Ring.Name, rings.Rings[i].Name)
			}
			var one admin.RingStatus
			s.want("status of "+st.Ring.Name, s.do(viewer, http.MethodGet, "/api/v1/rings/"+st.Ring.ID.String()+"/status", ""), http.StatusOK, "", &one)
			if got, want := marshal(t, st), marshal(t, one); got != want {
				t.Errorf("ring %s: every-ring status\n%s\nper-ring status\n%s", st.Ring.Name, got, want)
			}
			if st.ApprovesTotal != len(st.Approves) || st.WaitingTotal != len(st.Waiting) {
				t.Errorf("ring %s: totals %d, %d for %d, %d entries", st.Ring.Name, st.ApprovesTotal, st.WaitingTotal, len(st.Approves), len(st.Waiting))
			}
		}
		pilot, broad := all.Rings[0], all.Rings[1]
		if pilot.Ring.Name != "Pilot" {
			pilot, broad = broad, pilot
		}
		if len(pilot.Approves) != 1 || pilot.Approves[0].UpdateID != upd1 || len(pilot.Waiting) != 1 || pilot.Waiting[0].UpdateID != upd2 {
			t.Errorf("pilot: approves %+v, waits %+v; want update 1, update 2", pilot.Approves, pilot.Waiting)
		}
		if len(broad.Waiting) != 2 {
			t.Errorf("broad waits on %+v, want both updates", broad.Waiting)
		}

		var cut admin.RingStatusList
		s.want("limit 1", s.do(viewer, http.MethodGet, "/api/v1/rings/status?limit=1", ""), http.StatusOK, "", &cut)
		for _, st := range cut.Rings {
			if st.Ring.Name == "Broad" && (len(st.Waiting) != 1 || st.WaitingTotal != 2 || st.Waiting[0].UpdateID != broad.Waiting[0].UpdateID) {
				t.Errorf("broad with limit 1: waits %+v of %d, want the first of 2", st.Waiting, st.WaitingTotal)
			}
		}
		var none admin.RingStatus
		s.want("limit 0", s.do(viewer, http.MethodGet, "/api/v1/rings/Pilot/status?limit=0", ""), http.StatusOK, "", &none)
		if none.Approves == nil || none.Waiting == nil || len(none.Approves)+len(none.Waiting) != 0 || none.ApprovesTotal != 1 || none.WaitingTotal != 1 {
			t.Errorf("pilot with limit 0: %+v", none)
		}
		for _, q := range []string{"?limit=-1", "?limit=many", "?limit=100001", "?limit=1&limit=2", "?rings=all"} {
			s.want("every status"+q, s.do(viewer, http.MethodGet, "/api/v1/rings/status"+q, ""), http.StatusBadRequest, "bad_query", nil)
			s.want("pilot status"+q, s.do(viewer, http.MethodGet, "/api/v1/rings/Pilot/status"+q, ""), http.StatusBadRequest, "bad_query", nil)
		}

		// A ring named "status" is still read by its ID.
		var named admin.Ring
		s.want("a ring named status", s.do(bootstrapToken, http.MethodPost, "/api/v1/rings",
			`{"name":"status","rule":"Monthly","position":3,"group":"Broad"}`), http.StatusCreated, "", &named)
		s.want("ring status by ID", s.do(viewer, http.MethodGet, "/api/v1/rings/"+named.ID.String(), ""), http.StatusOK, "", nil)
		s.want("every status with it", s.do(viewer, http.MethodGet, "/api/v1/rings/status", ""), http.StatusOK, "", &all)
		if len(all.Rings) != 3 {
			t.Errorf("%d statuses for 3 rings", len(all.Rings))
		}

		norules := httptest.NewServer(admin.NewWith(s.store, admin.Options{Token: bootstrapToken}))
		defer norules.Close()
		s.want("without rules", (&server{t: t, srv: norules}).do(bootstrapToken, http.MethodGet, "/api/v1/rings/status", ""),
			http.StatusServiceUnavailable, "rules_disabled", nil)
	})
}

// marshal is v as JSON, for comparing answers.
func marshal(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
