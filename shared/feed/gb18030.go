package feed

import (
	"encoding/binary"

	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/transform"
)

// gb18030Decoder decodes GB18030 to UTF-8 exactly as x/text's decoder does,
// but copies runs of ASCII bytes (most of a bank statement) in bulk and
// hands only the stretches with other bytes to the x/text decoder.
//
// This is exact because the x/text decoder keeps no state between calls:
// given a prefix of its input that cuts a sequence, it stops before the
// sequence with ErrShortSrc, and whatever it decoded before is what it
// would have decoded from the whole input. ASCII bytes are copied only where
// the x/text decoder has stopped, i.e. at a sequence boundary.
type gb18030Decoder struct {
	inner transform.Transformer
}

func newGB18030Decoder() *gb18030Decoder {
	return &gb18030Decoder{inner: simplifiedchinese.GB18030.NewDecoder()}
}

func (d *gb18030Decoder) Reset() { d.inner.Reset() }

func (d *gb18030Decoder) Transform(dst, src []byte, atEOF bool) (nDst, nSrc int, err error) {
	for nSrc < len(src) {
		if src[nSrc] < 0x80 {
			// ASCII run: copy as is.
			n := asciiPrefix(src[nSrc:])
			if room := len(dst) - nDst; n > room {
				n = room
			}
			if n == 0 {
				return nDst, nSrc, transform.ErrShortDst
			}
			copy(dst[nDst:], src[nSrc:nSrc+n])
			nDst += n
			nSrc += n
			continue
		}
		// A stretch of non-ASCII bytes, one byte more (a trail byte may be
		// in the ASCII range) and at least a whole 4-byte sequence.
		j := nSrc
		for j < len(src) && src[j] >= 0x80 {
			j++
		}
		j = min(max(j+1, nSrc+4), len(src))
		dn, sn, e := d.inner.Transform(dst[nDst:], src[nSrc:j], atEOF && j == len(src))
		nDst += dn
		nSrc += sn
		switch {
		case e == transform.ErrShortSrc && j < len(src) && sn > 0:
			// The window cut a sequence: go on from where it stopped.
		case e == transform.ErrShortSrc && j < len(src):
			// Cannot happen (a window holds a whole sequence), but never
			// stall: decode the rest as the x/text decoder would.
			dn, sn, e = d.inner.Transform(dst[nDst:], src[nSrc:], atEOF)
			return nDst + dn, nSrc + sn, e
		case e != nil:
			return nDst, nSrc, e
		}
	}
	return nDst, nSrc, nil
}

// asciiPrefix returns how many bytes at the start of b are ASCII, looking
// at 8 bytes at a time.
func asciiPrefix(b []byte) int {
	n := 0
	for n+8 <= len(b) && binary.LittleEndian.Uint64(b[n:])&0x8080808080808080 == 0 {
		n += 8
	}
	for n < len(b) && b[n] < 0x80 {
		n++
	}
	return n
}
