// Package pii keeps identity numbers and bank card numbers out of storage,
// logs, errors, alerts and messages: it hashes them with a keyed HMAC-SHA256
// (so that the same number always gives the same hash and can be joined on,
// but cannot be recovered without the key) and masks them for display
// (620502********0119, 6228********0001). Redact and NewRedactingHandler are
// the last line of defence for text that might still carry a full number.
package pii

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"unicode"
)

// MinKeyLen is the shortest key NewHasher accepts.
const MinKeyLen = 16

// ErrShortKey reports a hashing key shorter than MinKeyLen bytes.
var ErrShortKey = errors.New("pii key too short")

// Hasher computes keyed hashes of identity and card numbers. It is safe for
// concurrent use.
type Hasher struct {
	key []byte
}

// NewHasher returns a Hasher with a copy of key. It refuses keys shorter
// than MinKeyLen bytes.
func NewHasher(key []byte) (*Hasher, error) {
	if len(key) < MinKeyLen {
		return nil, fmt.Errorf("new hasher: %d bytes, need at least %d: %w", len(key), MinKeyLen, ErrShortKey)
	}
	return &Hasher{key: append([]byte(nil), key...)}, nil
}

// HashID returns the hex HMAC-SHA256 of an identity number, with the domain
// prefix "id:" inside the MAC. The number is trimmed and upper-cased first,
// so that a lower-case check character x hashes like X.
func (h *Hasher) HashID(id string) string {
	return h.sum("id:", strings.ToUpper(strings.TrimSpace(id)))
}

// HashCard returns the hex HMAC-SHA256 of a card or account number, with the
// domain prefix "card:" inside the MAC. Spaces are removed first (Digits),
// so "6217 0000 2020 0001" from the roster and "6217000020200001" from a
// bank entry's counterparty account hash alike and payments match cards.
func (h *Hasher) HashCard(digits string) string {
	return h.sum("card:", Digits(digits))
}

func (h *Hasher) sum(domain, v string) string {
	m := hmac.New(sha256.New, h.key)
	m.Write([]byte(domain))
	m.Write([]byte(v))
	return hex.EncodeToString(m.Sum(nil))
}

// Digits returns s with every white-space character (ASCII or full-width
// space, tab) removed. It does not check that the rest are digits.
func Digits(s string) string {
	if strings.IndexFunc(s, unicode.IsSpace) < 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		if !unicode.IsSpace(r) {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// stars is the fixed run of stars that replaces the middle of a number; it
// does not depend on the number's length.
const stars = "********"

// MaskID masks an identity number for display: the first 6 characters (the
// county code), 8 stars and the last 4 ("620502********0119"). Spaces are
// removed and a lower-case x is upper-cased first. A value shorter than 18
// characters is masked as MaskCard does.
func MaskID(id string) string {
	id = strings.ToUpper(Digits(id))
	r := []rune(id)
	if len(r) < 18 {
		return MaskCard(id)
	}
	return string(r[:6]) + stars + string(r[len(r)-4:])
}

// MaskCard masks a card or account number for display: the first 4
// characters, 8 stars and the last 4 ("6228********0001") whatever the
// length. Spaces are removed first. A value of fewer than 12 characters is
// starred entirely (one star per character), so no short value is revealed.
func MaskCard(card string) string {
	card = Digits(card)
	r := []rune(card)
	if len(r) < 12 {
		return strings.Repeat("*", len(r))
	}
	return string(r[:4]) + stars + string(r[len(r)-4:])
}
