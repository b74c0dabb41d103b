package admin

import (
	"testing"

	"github.com/google/uuid"

	"wsus/catalog"
)

// TestGroupNamed: names compare as the store compares them, and an exact
// spelling wins over a folded one (upgraded catalogs may hold "Straße" and
// "STRASSE", which fold to one name).
func TestGroupNamed(t *testing.T) {
	strasse := catalog.TargetGroup{ID: uuid.MustParse("11111111-1111-4111-8111-111111111111"), Name: "STRASSE"}
	strasze := catalog.TargetGroup{ID: uuid.MustParse("22222222-2222-4222-8222-222222222222"), Name: "Straße"}
	greek := catalog.TargetGroup{ID: uuid.MustParse("33333333-3333-4333-8333-333333333333"), Name: "Σας"}
	groups := []catalog.TargetGroup{strasse, strasze, greek}
	tests := []struct {
		name string
		want uuid.UUID // uuid.Nil: not found
	}{
		{"Straße", strasze.ID},
		{"STRASSE", strasse.ID},
		{"strasse", strasse.ID},
		{"σασ", greek.ID},
		{"ΣΑΣ", greek.ID},
		{"Pilot", uuid.Nil},
	}
	for _, tc := range tests {
		g, ok := groupNamed(groups, tc.name)
		if ok != (tc.want != uuid.Nil) || g.ID != tc.want {
			t.Errorf("groupNamed(%q) = %s, %v; want %s", tc.name, g.ID, ok, tc.want)
		}
	}
}
