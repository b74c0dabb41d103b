package content

import (
	"math"
	"testing"
)

func TestParseRange(t *testing.T) {
	const size = 1000
	tests := []struct {
		header        string
		size          int64
		start, length int64
		kind          rangeKind
	}{
		{"bytes=0-99", size, 0, 100, rangePartial},
		{"bytes=0-0", size, 0, 1, rangePartial},
		{"bytes=999-999", size, 999, 1, rangePartial},
		{"bytes=500-", size, 500, 500, rangePartial},
		{"bytes=0-", size, 0, 1000, rangePartial},
		{"bytes=-1", size, 999, 1, rangePartial},
		{"bytes=-1000", size, 0, 1000, rangePartial},
		{"bytes=-5000", size, 0, 1000, rangePartial},                     // suffix longer than the file
		{"bytes=990-5000", size, 990, 10, rangePartial},                  // end cut at the end
		{"bytes=0-99999999999999999999999", size, 0, 1000, rangePartial}, // saturates
		{"Bytes=1-2", size, 1, 2, rangePartial},                          // units are case-insensitive
		{"bytes= 1-2 ", size, 1, 2, rangePartial},                        // OWS around list elements
		{"bytes=1-2,", size, 1, 2, rangePartial},                         // empty list elements
		{"bytes=1000-", size, 0, 0, rangeUnsatisfiable},
		{"bytes=1000-2000", size, 0, 0, rangeUnsatisfiable},
		{"bytes=99999999999999999999999-", size, 0, 0, rangeUnsatisfiable},
		{"bytes=-0", size, 0, 0, rangeUnsatisfiable},
		{"bytes=0-", 0, 0, 0, rangeUnsatisfiable},
		{"bytes=0-0", 0, 0, 0, rangeUnsatisfiable},
		{"bytes=-1", 0, 0, 0, rangeUnsatisfiable},
		{"", size, 0, 0, rangeWhole},
		{"bytes=0-1,5-6", size, 0, 0, rangeWhole}, // several ranges: whole file
		{"bytes=0-1,2000-", size, 0, 0, rangeWhole},
		{"bytes=5-1", size, 0, 0, rangeWhole},                                      // last < first: malformed
		{"bytes=99999999999999999999-9223372036854775807", size, 0, 0, rangeWhole}, // last < first, both beyond int64
		{"bytes=", size, 0, 0, rangeWhole},
		{"bytes=,", size, 0, 0, rangeWhole},
		{"bytes=-", size, 0, 0, rangeWhole},
		{"bytes=--1", size, 0, 0, rangeWhole},
		{"bytes=1-2-3", size, 0, 0, rangeWhole},
		{"bytes=a-b", size, 0, 0, rangeWhole},
		{"bytes=+1-2", size, 0, 0, rangeWhole},
		{"bytes=1 -2", size, 0, 0, rangeWhole},
		{"bytes=0x10-", size, 0, 0, rangeWhole},
		{"bytes 0-1", size, 0, 0, rangeWhole},
		{"items=0-1", size, 0, 0, rangeWhole},
		{"=0-1", size, 0, 0, rangeWhole},
	}
	for _, tt := range tests {
		start, length, kind := parseRange(tt.header, tt.size)
		if start != tt.start || length != tt.length || kind != tt.kind {
			t.Errorf("parseRange(%q, %d) = %d, %d, %v; want %d, %d, %v",
				tt.header, tt.size, start, length, kind, tt.start, tt.length, tt.kind)
		}
	}
}

func TestParseDigits(t *testing.T) {
	tests := []struct {
		s  string
		n  int64
		ok bool
	}{
		{"0", 0, true},
		{"00012", 12, true},
		{"9223372036854775807", math.MaxInt64, true},
		{"9223372036854775808", math.MaxInt64, true},
		{"123456789012345678901234567890", math.MaxInt64, true},
		{"", 0, false},
		{"-1", 0, false},
		{"1a", 0, false},
		{"١", 0, false}, // non-ASCII digit
	}
	for _, tt := range tests {
		if n, ok := parseDigits(tt.s); n != tt.n || ok != tt.ok {
			t.Errorf("parseDigits(%q) = %d, %v; want %d, %v", tt.s, n, ok, tt.n, tt.ok)
		}
	}
}
