package storage

import (
	"bytes"
	"crypto/sha1"
	"crypto/sha256"
	"errors"
	"strings"
	"testing"
)

func TestKeyForSHA1(t *testing.T) {
	// The digest of MS-WUSP.md section 6.5's example URL
	// Content/49/A379D5526FB3A7A0423DA1CD7FC3182A8D448449.exe.
	example := []byte{0xa3, 0x79, 0xd5, 0x52, 0x6f, 0xb3, 0xa7, 0xa0, 0x42, 0x3d,
		0xa1, 0xcd, 0x7f, 0xc3, 0x18, 0x2a, 0x8d, 0x44, 0x84, 0x49}
	leadingZero := make([]byte, 20)
	leadingZero[19] = 0x0a
	tests := []struct {
		name string
		sum  []byte
		want string
	}{
		{"wusp example", example, "49/a379d5526fb3a7a0423da1cd7fc3182a8d448449"},
		{"zero folder keeps two digits", leadingZero, "0a/000000000000000000000000000000000000000a"},
		{"nil", nil, ""},
		{"sha-256 length", make([]byte, 32), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := KeyForSHA1(tt.sum)
			if got != tt.want {
				t.Fatalf("KeyForSHA1 = %q, want %q", got, tt.want)
			}
			if got == "" {
				return
			}
			if err := CheckKey(got); err != nil {
				t.Errorf("CheckKey(%q) = %v", got, err)
			}
			back, err := SHA1FromKey(got)
			if err != nil || !bytes.Equal(back, tt.sum) {
				t.Errorf("SHA1FromKey(%q) = %x, %v; want %x", got, back, err, tt.sum)
			}
		})
	}
}

func TestSHA1FromKeyRejects(t *testing.T) {
	for _, key := range []string{
		"",
		"a379d5526fb3a7a0423da1cd7fc3182a8d448449",    // no folder
		"48/a379d5526fb3a7a0423da1cd7fc3182a8d448449", // wrong folder
		"49/A379D5526FB3A7A0423DA1CD7FC3182A8D448449", // upper case is not the layout
		"49/a379d5526fb3a7a0423da1cd7fc3182a8d4484",   // short
		"49/a379d5526fb3a7a0423da1cd7fc3182a8d44844g", // not hex
		"49/a379d5526fb3a7a0423da1cd7fc3182a8d448449/x",
	} {
		if sum, err := SHA1FromKey(key); !errors.Is(err, ErrInvalidKey) {
			t.Errorf("SHA1FromKey(%q) = %x, %v; want ErrInvalidKey", key, sum, err)
		}
	}
}

func TestCheckKey(t *testing.T) {
	tests := []struct {
		key string
		ok  bool
	}{
		{"49/a379d5526fb3a7a0423da1cd7fc3182a8d448449", true},
		{"a", true},
		{"dir/sub/file.cab", true},
		{"A-b_c.D", true},
		{strings.Repeat("abc/", 256)[:1023] + "x", true}, // 1024 bytes
		{strings.Repeat("abc/", 256)[:1023] + "xy", false},
		{strings.Repeat("a", 255), true},
		{strings.Repeat("a", 256), false},
		{"", false},
		{"/etc/passwd", false},
		{"../x", false},
		{"a/../../x", false},
		{"..", false},
		{".", false},
		{"a/./b", false},
		{"a//b", false},
		{"a/", false},
		{".hidden", false},
		{"ab/.put-TEMP", false},
		{`a\b`, false},
		{`..\x`, false},
		{"c:/x", false},
		{"a b", false},
		{"a\x00b", false},
		{"é", false},
	}
	for _, tt := range tests {
		err := CheckKey(tt.key)
		if tt.ok && err != nil {
			t.Errorf("CheckKey(%q) = %v, want nil", tt.key, err)
		}
		if !tt.ok && !errors.Is(err, ErrInvalidKey) {
			t.Errorf("CheckKey(%q) = %v, want ErrInvalidKey", tt.key, err)
		}
	}
}

func TestVerifier(t *testing.T) {
	data := []byte("payload")
	s1, s256 := sha1.Sum(data), sha256.Sum256(data)
	other1, other256 := sha1.Sum([]byte("other")), sha256.Sum256([]byte("other"))
	tests := []struct {
		name       string
		want       Digests
		newErr     bool // NewVerifier rejects want
		mismatched bool
	}{
		{"sha1 only", Digests{SHA1: s1[:]}, false, false},
		{"both", Digests{SHA1: s1[:], SHA256: s256[:]}, false, false},
		{"wrong sha1", Digests{SHA1: other1[:], SHA256: s256[:]}, false, true},
		{"wrong sha256", Digests{SHA1: s1[:], SHA256: other256[:]}, false, true},
		{"no sha1", Digests{SHA256: s256[:]}, true, false},
		{"short sha1", Digests{SHA1: s1[:19]}, true, false},
		{"short sha256", Digests{SHA1: s1[:], SHA256: s256[:31]}, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := NewVerifier(tt.want)
			if tt.newErr {
				if err == nil || errors.Is(err, ErrDigestMismatch) {
					t.Fatalf("NewVerifier = %v, want a digest-length error", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			v.Write(data[:3])
			v.Write(data[3:])
			err = v.Verify()
			if tt.mismatched != errors.Is(err, ErrDigestMismatch) || !tt.mismatched && err != nil {
				t.Fatalf("Verify = %v, mismatch expected: %v", err, tt.mismatched)
			}
		})
	}
}
