package metadata

import "testing"

func TestIsXMLName(t *testing.T) {
	for _, tc := range []struct {
		name string
		want bool
	}{
		{"Update", true},
		{"_x", true},
		{"a-b.c_1", true},
		{"été", true},
		{"", false},
		{"0", false},
		{"-a", false},
		{".a", false},
		{"a:b", false},
		{"a b", false},
		{"١x", false}, // an Arabic-Indic digit cannot start a name
	} {
		if got := isXMLName(tc.name); got != tc.want {
			t.Errorf("isXMLName(%q) = %v, want %v", tc.name, got, tc.want)
		}
	}
}
