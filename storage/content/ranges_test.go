package content

import (
	"math"
	"slices"
	"strings"
	"testing"
)

func TestParseRanges(t *testing.T) {
	const size = 1000
	tests := []struct {
		header string
		size   int64
		want   []byteRange
		kind   rangeKind
	}{
		{"bytes=0-99", size, []byteRange{{0, 100}}, rangePartial},
		{"bytes=0-0", size, []byteRange{{0, 1}}, rangePartial},
		{"bytes=999-999", size, []byteRange{{999, 1}}, rangePartial},
		{"bytes=500-", size, []byteRange{{500, 500}}, rangePartial},
		{"bytes=0-", size, []byteRange{{0, 1000}}, rangePartial},
		{"bytes=-1", size, []byteRange{{999, 1}}, rangePartial},
		{"bytes=-1000", size, []byteRange{{0, 1000}}, rangePartial},
		{"bytes=-5000", size, []byteRange{{0, 1000}}, rangePartial},                     // suffix longer than the file
		{"bytes=990-5000", size, []byteRange{{990, 10}}, rangePartial},                  // end cut at the end
		{"bytes=0-99999999999999999999999", size, []byteRange{{0, 1000}}, rangePartial}, // saturates
		{"Bytes=1-2", size, []byteRange{{1, 2}}, rangePartial},                          // units are case-insensitive
		{"bytes= 1-2 ", size, []byteRange{{1, 2}}, rangePartial},                        // OWS around list elements
		{"bytes=1-2,", size, []byteRange{{1, 2}}, rangePartial},                         // empty list elements
		{"bytes=1000-", size, nil, rangeUnsatisfiable},
		{"bytes=1000-2000", size, nil, rangeUnsatisfiable},
		{"bytes=99999999999999999999999-", size, nil, rangeUnsatisfiable},
		{"bytes=-0", size, nil, rangeUnsatisfiable},
		{"bytes=0-", 0, nil, rangeUnsatisfiable},
		{"bytes=0-0", 0, nil, rangeUnsatisfiable},
		{"bytes=-1", 0, nil, rangeUnsatisfiable},
		{"", size, nil, rangeWhole},
		{"bytes=5-6,0-1", size, []byteRange{{5, 2}, {0, 2}}, rangePartial}, // the order asked, not sorted
		{"bytes=0-1,0-1", size, []byteRange{{0, 2}, {0, 2}}, rangePartial}, // small overlaps are sent as asked
		{"bytes=0-1, ,-10", size, []byteRange{{0, 2}, {990, 10}}, rangePartial},
		{"bytes=0-499,500-999", size, []byteRange{{0, 500}, {500, 500}}, rangePartial}, // exactly the file
		{"bytes=0-500,500-999", size, nil, rangeWhole},                                 // more than the file: overlap
		{"bytes=0-,-1000", size, nil, rangeWhole},
		{"bytes=2000-,3000-3001", size, nil, rangeUnsatisfiable},
		{"bytes=0-1,x", size, nil, rangeWhole}, // one malformed spec spoils the header
		{"bytes=0-1,5-1", size, nil, rangeWhole},
		{"bytes=" + strings.Repeat("0-0,", MaxRanges), size, slices.Repeat([]byteRange{{0, 1}}, MaxRanges), rangePartial},
		{"bytes=" + strings.Repeat("0-0,", MaxRanges+1), size, nil, rangeWhole}, // too many ranges
		{"bytes=" + strings.Repeat("5000-,", MaxRanges+1), size, nil, rangeWhole},
		{"bytes=0-1,5-6", size, []byteRange{{0, 2}, {5, 2}}, rangePartial},        // several ranges, in order
		{"bytes=0-1,2000-", size, []byteRange{{0, 2}}, rangePartial},              // the unsatisfiable one left out
		{"bytes=5-1", size, nil, rangeWhole},                                      // last < first: malformed
		{"bytes=99999999999999999999-9223372036854775807", size, nil, rangeWhole}, // last < first, both beyond int64
		{"bytes=", size, nil, rangeWhole},
		{"bytes=,", size, nil, rangeWhole},
		{"bytes=-", size, nil, rangeWhole},
		{"bytes=--1", size, nil, rangeWhole},
		{"bytes=1-2-3", size, nil, rangeWhole},
		{"bytes=a-b", size, nil, rangeWhole},
		{"bytes=+1-2", size, nil, rangeWhole},
		{"bytes=1 -2", size, nil, rangeWhole},
		{"bytes=0x10-", size, nil, rangeWhole},
		{"bytes 0-1", size, nil, rangeWhole},
		{"items=0-1", size, nil, rangeWhole},
		{"=0-1", size, nil, rangeWhole},
	}
	for _, tt := range tests {
		got, kind := parseRanges(tt.header, tt.size)
		if !slices.Equal(got, tt.want) || kind != tt.kind {
			t.Errorf("parseRanges(%q, %d) = %v, %v; want %v, %v", tt.header, tt.size, got, kind, tt.want, tt.kind)
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
