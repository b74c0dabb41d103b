package cookie

import (
	"encoding/hex"
	"testing"
)

// BenchmarkOpenSession: what holding previous keys costs an open. A framed
// cookie goes to the key its ID names, whichever its place; a cookie from
// before key IDs, or one naming no key held, is tried with every key.
//
//	go test -run '^$' -bench OpenSession -benchmem ./soap/cookie
func BenchmarkOpenSession(b *testing.B) {
	current, prev1, prev2, prev3 := testKey(1), testKey(2), testKey(3), testKey(4)
	sess := testSession()
	seal := func(key []byte) []byte {
		sealed, err := mustSealer(b, key).SealSession(sess)
		if err != nil {
			b.Fatal(err)
		}
		return sealed
	}
	legacy, err := hex.DecodeString(genuineSession)
	if err != nil {
		b.Fatal(err)
	}
	alone := mustSealer(b, current)
	rotated := mustSealer(b, current, prev1, prev2, prev3)
	rotatedLegacy := mustSealer(b, current, prev1, prev2, fuzzKey)
	cases := []struct {
		name  string
		s     *Sealer
		data  []byte
		opens bool
	}{
		{"current key, no previous", alone, seal(current), true},
		{"current key, 3 previous", rotated, seal(current), true},
		{"third previous key", rotated, seal(prev3), true},
		{"unknown key, 3 previous", rotated, seal(testKey(9)), false},
		{"before key IDs, last of 4 keys", rotatedLegacy, legacy, true},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := c.s.OpenSession(c.data); (err == nil) != c.opens {
					b.Fatalf("err %v, want open %v", err, c.opens)
				}
			}
		})
	}
}
