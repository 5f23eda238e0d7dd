package pii

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

var testKey = []byte("test-key-0123456789abcdef")

func newTestHasher(t *testing.T) *Hasher {
	t.Helper()
	h, err := NewHasher(testKey)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestNewHasherKeyLength(t *testing.T) {
	tests := []struct {
		name string
		key  []byte
		ok   bool
	}{
		{"nil", nil, false},
		{"15 bytes", []byte("123456789012345"), false},
		{"16 bytes", []byte("1234567890123456"), true},
		{"32 bytes", []byte(strings.Repeat("k", 32)), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := NewHasher(tt.key)
			if tt.ok != (err == nil) {
				t.Fatalf("NewHasher(%d bytes) err = %v, want ok=%v", len(tt.key), err, tt.ok)
			}
			if !tt.ok && !errors.Is(err, ErrShortKey) {
				t.Fatalf("err = %v, want ErrShortKey", err)
			}
			if tt.ok && h == nil {
				t.Fatal("nil hasher without error")
			}
		})
	}
}

func TestHasherCopiesKey(t *testing.T) {
	key := append([]byte(nil), testKey...)
	h, err := NewHasher(key)
	if err != nil {
		t.Fatal(err)
	}
	before := h.HashID("620502197803120119")
	key[0] ^= 0xFF
	if after := h.HashID("620502197803120119"); after != before {
		t.Fatal("hasher changed when the caller's key slice changed")
	}
}

func mac(key []byte, msg string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(msg))
	return hex.EncodeToString(m.Sum(nil))
}

func TestHashes(t *testing.T) {
	h := newTestHasher(t)
	id := "620502197803120119"
	card := "6228480010100001"

	if got, want := h.HashID(id), mac(testKey, "id:"+id); got != want {
		t.Errorf("HashID = %s, want HMAC of id:%s = %s", got, "…", want)
	}
	if got, want := h.HashCard(card), mac(testKey, "card:"+card); got != want {
		t.Errorf("HashCard = %s, want %s", got, want)
	}
	if len(h.HashID(id)) != 64 {
		t.Errorf("HashID length = %d, want 64 hex characters", len(h.HashID(id)))
	}
	t.Run("domain separation", func(t *testing.T) {
		if h.HashID(card) == h.HashCard(card) {
			t.Fatal("the same digits hash alike as id and as card")
		}
	})
	t.Run("card with spaces matches bank account", func(t *testing.T) {
		if a, b := h.HashCard("6217 0000 2020 0001"), h.HashCard("6217000020200001"); a != b {
			t.Fatalf("roster card %s and bank account %s differ", a, b)
		}
	})
	t.Run("lower-case x", func(t *testing.T) {
		if a, b := h.HashID("11010519491231002x"), h.HashID("11010519491231002X"); a != b {
			t.Fatal("x and X hash differently")
		}
	})
	t.Run("key matters", func(t *testing.T) {
		other, err := NewHasher([]byte("another-key-0123456789"))
		if err != nil {
			t.Fatal(err)
		}
		if other.HashID(id) == h.HashID(id) {
			t.Fatal("two keys give the same hash")
		}
	})
	t.Run("no plain text", func(t *testing.T) {
		if strings.Contains(h.HashID(id), id) || strings.Contains(h.HashCard(card), card) {
			t.Fatal("hash contains the number")
		}
	})
}

func TestMask(t *testing.T) {
	tests := []struct {
		name string
		f    func(string) string
		in   string
		want string
	}{
		{"id", MaskID, "620502197803120119", "620502********0119"},
		{"id x", MaskID, "11010519491231002x", "110105********002X"},
		{"id spaces", MaskID, " 620502197803120119 ", "620502********0119"},
		{"id short", MaskID, "62050219780312", "6205********0312"},
		{"id tiny", MaskID, "620502", "******"},
		{"card 16", MaskCard, "6228480010100001", "6228********0001"},
		{"card spaces", MaskCard, "6217 0000 2020 0001", "6217********0001"},
		{"card 19", MaskCard, "6228480010100001234", "6228********1234"},
		{"card 12", MaskCard, "622848001010", "6228********1010"},
		{"card 11", MaskCard, "62284800101", "***********"},
		{"card empty", MaskCard, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.f(tt.in); got != tt.want {
				t.Fatalf("mask(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestDigits(t *testing.T) {
	tests := []struct{ in, want string }{
		{"6217 0000 2020 0001", "6217000020200001"},
		{"6217000020200001", "6217000020200001"},
		{" 6217\t0000\u30002020 0001 ", "6217000020200001"},
		{"", ""},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := Digits(tt.in); got != tt.want {
				t.Fatalf("Digits(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestMaskNonASCII(t *testing.T) {
	// Masking never cuts a character in half.
	in := "王建国王建国123456780502"
	got := MaskID(in)
	if got != "王建国王建国********0502" || !utf8.ValidString(MaskCard("王建国王建国王建国王建国")) {
		t.Fatalf("MaskID(%q) = %q", in, got)
	}
}
