// Package textenc detects the text encoding of the CSV files that banks,
// attendance vendors and the registry send (UTF-8 with or without a byte-order
// mark, or GB18030/GBK) and turns them into a UTF-8 stream without reading the
// whole file into memory.
package textenc

import (
	"bufio"
	"bytes"
	"io"
	"unicode/utf8"

	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/transform"
)

// Encoding names what Detect found.
type Encoding string

// The encodings Detect tells apart.
const (
	UTF8    Encoding = "utf-8"
	UTF8BOM Encoding = "utf-8-bom"
	GB18030 Encoding = "gb18030"
)

// SniffSize is how many bytes Detect looks at. A file whose first SniffSize
// bytes are valid UTF-8 is read as UTF-8.
const SniffSize = 1 << 20

var bom = []byte{0xEF, 0xBB, 0xBF}

// Detect looks at the start of r and returns a reader of UTF-8 text (the
// byte-order mark removed) and the encoding it found. A file that is not
// valid UTF-8 is read as GB18030, as data.md says.
func Detect(r io.Reader) (io.Reader, Encoding) {
	br := bufio.NewReaderSize(r, SniffSize)
	head, _ := br.Peek(SniffSize)
	if bytes.HasPrefix(head, bom) {
		_, _ = br.Discard(len(bom))
		return br, UTF8BOM
	}
	if validUTF8Prefix(head, len(head) < SniffSize) {
		return br, UTF8
	}
	return transform.NewReader(br, simplifiedchinese.GB18030.NewDecoder()), GB18030
}

// validUTF8Prefix reports whether b is valid UTF-8, allowing a rune cut off
// at the end of the window when more bytes follow.
func validUTF8Prefix(b []byte, complete bool) bool {
	if utf8.Valid(b) {
		return true
	}
	if complete {
		return false
	}
	// Allow up to 3 trailing bytes of an incomplete rune.
	for cut := 1; cut <= 3 && cut <= len(b); cut++ {
		if utf8.Valid(b[:len(b)-cut]) && !utf8.FullRune(b[len(b)-cut:]) {
			return true
		}
	}
	return false
}
