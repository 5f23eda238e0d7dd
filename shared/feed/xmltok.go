package feed

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"
)

// The XML tokenizer below reads the subset of XML that camt files use:
// elements, attributes, text, CDATA sections, comments and processing
// instructions, with the five predefined entities and numeric character
// references. It is streamed over a bounded buffer and refuses what camt
// never needs and attackers love: document type and entity declarations are
// an error (never expanded), nesting is bounded and no token may exceed
// maxToken bytes. It does not resolve namespaces: names keep their prefix and
// local names are the part after the last colon.

type xmlKind uint8

const (
	xmlEOF xmlKind = iota
	xmlStart
	xmlEnd
	xmlText
)

type xmlAttr struct {
	Name, Value []byte
}

// Limits of the tokenizer.
const (
	xmlMaxDepth = 64
	xmlMaxToken = 1 << 20
	xmlMaxName  = 1024
	xmlBufSize  = 64 << 10
)

// Errors of the tokenizer that callers may test for.
var (
	errXMLDoctype = errors.New("DOCTYPE and ENTITY declarations are refused")
	errXMLDepth   = fmt.Errorf("XML nested deeper than %d elements", xmlMaxDepth)
	errXMLToken   = fmt.Errorf("XML token longer than %d bytes", xmlMaxToken)
	errXMLEOF     = errors.New("file breaks off (unexpected end of XML)")
)

// xmlIOError wraps an error of the underlying reader, so that callers can
// tell an unreadable file from a malformed one.
type xmlIOError struct{ err error }

func (e xmlIOError) Error() string { return "read: " + e.err.Error() }
func (e xmlIOError) Unwrap() error { return e.err }

type xmlTokenizer struct {
	r        io.Reader
	buf      []byte
	pos, end int
	eof      bool
	rerr     error
	err      error // sticky

	line    int // newlines in buf before counted, plus those discarded
	counted int

	names []byte // open element names, concatenated
	offs  []int  // start of each open name in names
	root  int    // 0 before the root, 1 inside, 2 after

	pendingEnd bool
	started    bool

	// The current token; slices are valid until the next call to next.
	kind    xmlKind
	name    []byte
	local   []byte
	attrs   []xmlAttr
	text    []byte
	scratch []byte
}

func newXMLTokenizer(r io.Reader) *xmlTokenizer {
	return &xmlTokenizer{r: r, buf: make([]byte, xmlBufSize)}
}

// depth is the number of open elements (after the current token).
func (t *xmlTokenizer) depth() int { return len(t.offs) }

// lineNow returns the 1-based line of the current read position.
func (t *xmlTokenizer) lineNow() int {
	if t.counted < t.pos {
		t.line += bytes.Count(t.buf[t.counted:t.pos], []byte{'\n'})
		t.counted = t.pos
	}
	return t.line + 1
}

// fill reads more bytes, keeping buf[pos:end]. It returns false at the end
// of the input or on a read error.
func (t *xmlTokenizer) fill() bool {
	if t.eof {
		return false
	}
	if t.pos > 0 {
		t.lineNow()
		copy(t.buf, t.buf[t.pos:t.end])
		t.end -= t.pos
		t.counted -= t.pos
		t.pos = 0
	}
	if t.end == len(t.buf) {
		if len(t.buf) >= xmlMaxToken+xmlBufSize {
			return false
		}
		nb := make([]byte, min(2*len(t.buf), xmlMaxToken+xmlBufSize))
		copy(nb, t.buf[:t.end])
		t.buf = nb
	}
	for tries := 0; ; tries++ {
		n, err := t.r.Read(t.buf[t.end:])
		t.end += n
		if err != nil {
			t.eof = true
			if err != io.EOF {
				t.rerr = err
			}
			return n > 0
		}
		if n > 0 {
			return true
		}
		if tries > 100 {
			t.eof, t.rerr = true, io.ErrNoProgress
			return false
		}
	}
}

// find returns the offset from pos of sep, searching from offset from,
// reading more input as needed.
func (t *xmlTokenizer) find(sep []byte, from int) (int, error) {
	for {
		if i := bytes.Index(t.buf[t.pos+from:t.end], sep); i >= 0 {
			return from + i, nil
		}
		if t.end-t.pos > xmlMaxToken {
			return 0, errXMLToken
		}
		from = max(from, t.end-t.pos-len(sep)+1)
		if !t.fill() {
			return 0, t.eofErr()
		}
	}
}

func (t *xmlTokenizer) eofErr() error {
	if t.rerr != nil {
		return xmlIOError{t.rerr}
	}
	if t.end-t.pos > xmlMaxToken {
		return errXMLToken
	}
	return errXMLEOF
}

// need makes sure n bytes are available from pos.
func (t *xmlTokenizer) need(n int) bool {
	for t.end-t.pos < n {
		if !t.fill() {
			return false
		}
	}
	return true
}

func (t *xmlTokenizer) fail(err error) (xmlKind, error) {
	t.err = err
	return xmlEOF, err
}

// next reads the next token.
func (t *xmlTokenizer) next() (xmlKind, error) {
	if t.err != nil {
		return xmlEOF, t.err
	}
	if t.pendingEnd {
		t.pendingEnd = false
		t.kind = xmlEnd
		t.pop()
		return xmlEnd, nil
	}
	for {
		if t.pos >= t.end && !t.fill() {
			if t.rerr != nil {
				return t.fail(xmlIOError{t.rerr})
			}
			if len(t.offs) > 0 {
				return t.fail(fmt.Errorf("%w inside <%s>", errXMLEOF, t.top()))
			}
			if t.root == 0 {
				return t.fail(fmt.Errorf("%w: no root element", errXMLEOF))
			}
			t.kind = xmlEOF
			return xmlEOF, nil
		}
		if !t.started {
			t.started = true
			if t.need(3) && bytes.HasPrefix(t.buf[t.pos:t.end], bomUTF8) {
				t.pos += 3
			}
			continue
		}
		if t.buf[t.pos] != '<' {
			k, err := t.readText()
			if err != nil {
				return t.fail(err)
			}
			if k == xmlEOF {
				continue // whitespace outside the root
			}
			return k, nil
		}
		if !t.need(2) {
			return t.fail(t.eofErr())
		}
		switch t.buf[t.pos+1] {
		case '?':
			i, err := t.find([]byte("?>"), 2)
			if err != nil {
				return t.fail(err)
			}
			t.pos += i + 2
		case '!':
			if !t.need(9) {
				if t.rerr != nil {
					return t.fail(xmlIOError{t.rerr})
				}
				return t.fail(errXMLEOF)
			}
			rest := t.buf[t.pos : t.pos+9]
			switch {
			case bytes.HasPrefix(rest, []byte("<!--")):
				i, err := t.find([]byte("-->"), 4)
				if err != nil {
					return t.fail(err)
				}
				t.pos += i + 3
			case bytes.Equal(rest, []byte("<![CDATA[")):
				if len(t.offs) == 0 {
					return t.fail(errors.New("CDATA outside the root element"))
				}
				i, err := t.find([]byte("]]>"), 9)
				if err != nil {
					return t.fail(err)
				}
				t.text = t.buf[t.pos+9 : t.pos+i]
				t.pos += i + 3
				t.kind = xmlText
				return xmlText, nil
			default:
				return t.fail(errXMLDoctype)
			}
		case '/':
			return t.readEnd()
		default:
			return t.readStart()
		}
	}
}

func (t *xmlTokenizer) top() []byte { return t.names[t.offs[len(t.offs)-1]:] }

func (t *xmlTokenizer) pop() {
	n := len(t.offs) - 1
	t.names = t.names[:t.offs[n]]
	t.offs = t.offs[:n]
	if n == 0 {
		t.root = 2
	}
}

// readText reads character data up to the next '<'. Whitespace outside the
// root element is skipped (xmlEOF returned).
func (t *xmlTokenizer) readText() (xmlKind, error) {
	i := bytes.IndexByte(t.buf[t.pos:t.end], '<')
	for i < 0 {
		if t.end-t.pos > xmlMaxToken {
			return 0, errXMLToken
		}
		if !t.fill() {
			if t.rerr != nil {
				return 0, xmlIOError{t.rerr}
			}
			i = t.end - t.pos
			break
		}
		i = bytes.IndexByte(t.buf[t.pos:t.end], '<')
	}
	raw := t.buf[t.pos : t.pos+i]
	t.pos += i
	if len(t.offs) == 0 {
		if len(bytes.TrimLeft(raw, " \t\r\n")) > 0 {
			return 0, errors.New("text outside the root element")
		}
		return xmlEOF, nil
	}
	if bytes.IndexByte(raw, '&') >= 0 {
		var err error
		t.scratch, err = unescapeXML(t.scratch[:0], raw)
		if err != nil {
			return 0, err
		}
		raw = t.scratch
	}
	t.text = raw
	t.kind = xmlText
	return xmlText, nil
}

func (t *xmlTokenizer) readEnd() (xmlKind, error) {
	i, err := t.find([]byte{'>'}, 2)
	if err != nil {
		return t.fail(err)
	}
	name := bytes.TrimRight(t.buf[t.pos+2:t.pos+i], " \t\r\n")
	t.pos += i + 1
	if len(t.offs) == 0 {
		return t.fail(fmt.Errorf("end tag </%s> without a start tag", excerpt(string(name))))
	}
	if !bytes.Equal(name, t.top()) {
		return t.fail(fmt.Errorf("end tag </%s> does not match <%s>", excerpt(string(name)), t.top()))
	}
	t.name = name
	t.local = localName(name)
	t.pop()
	t.kind = xmlEnd
	return xmlEnd, nil
}

func localName(name []byte) []byte {
	if i := bytes.LastIndexByte(name, ':'); i >= 0 {
		return name[i+1:]
	}
	return name
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

func isNameByte(c byte) bool {
	switch c {
	case ' ', '\t', '\r', '\n', '/', '>', '<', '=', '"', '\'', '&':
		return false
	}
	return true
}

func (t *xmlTokenizer) readStart() (xmlKind, error) {
	// Find the closing '>' outside attribute values.
	off, q := 1, byte(0)
	for {
		b := t.buf[t.pos:t.end]
		for off < len(b) {
			c := b[off]
			if q != 0 {
				if j := bytes.IndexByte(b[off:], q); j >= 0 {
					off += j + 1
					q = 0
					continue
				}
				off = len(b)
				break
			}
			if c == '"' || c == '\'' {
				q = c
			} else if c == '>' {
				goto found
			}
			off++
		}
		if t.end-t.pos > xmlMaxToken {
			return t.fail(errXMLToken)
		}
		if !t.fill() {
			return t.fail(t.eofErr())
		}
	}
found:
	tag := t.buf[t.pos+1 : t.pos+off]
	t.pos += off + 1
	self := false
	if len(tag) > 0 && tag[len(tag)-1] == '/' {
		self = true
		tag = tag[:len(tag)-1]
	}
	n := 0
	for n < len(tag) && isNameByte(tag[n]) {
		n++
	}
	if n == 0 {
		return t.fail(errors.New("malformed start tag"))
	}
	if n > xmlMaxName {
		return t.fail(fmt.Errorf("element name longer than %d bytes", xmlMaxName))
	}
	name := tag[:n]
	t.attrs = t.attrs[:0]
	rest := tag[n:]
	for {
		k := 0
		for k < len(rest) && isSpace(rest[k]) {
			k++
		}
		if k == len(rest) {
			break
		}
		if k == 0 {
			return t.fail(fmt.Errorf("malformed start tag <%s>", excerpt(string(name))))
		}
		rest = rest[k:]
		m := 0
		for m < len(rest) && isNameByte(rest[m]) {
			m++
		}
		if m == 0 {
			return t.fail(fmt.Errorf("malformed attribute in <%s>", excerpt(string(name))))
		}
		an := rest[:m]
		rest = bytes.TrimLeft(rest[m:], " \t\r\n")
		if len(rest) == 0 || rest[0] != '=' {
			return t.fail(fmt.Errorf("attribute %s of <%s> without a value", excerpt(string(an)), excerpt(string(name))))
		}
		rest = bytes.TrimLeft(rest[1:], " \t\r\n")
		if len(rest) == 0 || (rest[0] != '"' && rest[0] != '\'') {
			return t.fail(fmt.Errorf("attribute %s of <%s> not quoted", excerpt(string(an)), excerpt(string(name))))
		}
		qc := rest[0]
		e := bytes.IndexByte(rest[1:], qc)
		if e < 0 {
			return t.fail(fmt.Errorf("attribute %s of <%s> not closed", excerpt(string(an)), excerpt(string(name))))
		}
		v := rest[1 : 1+e]
		rest = rest[e+2:]
		if bytes.IndexByte(v, '<') >= 0 {
			return t.fail(fmt.Errorf("'<' in attribute %s", excerpt(string(an))))
		}
		if bytes.IndexByte(v, '&') >= 0 {
			u, err := unescapeXML(nil, v)
			if err != nil {
				return t.fail(err)
			}
			v = u
		}
		if len(t.attrs) >= 256 {
			return t.fail(errors.New("more than 256 attributes"))
		}
		t.attrs = append(t.attrs, xmlAttr{Name: an, Value: v})
	}
	if t.root == 2 {
		return t.fail(errors.New("element after the root element"))
	}
	if len(t.offs) >= xmlMaxDepth {
		return t.fail(errXMLDepth)
	}
	t.root = 1
	t.offs = append(t.offs, len(t.names))
	t.names = append(t.names, name...)
	t.name = name
	t.local = localName(name)
	t.pendingEnd = self
	t.kind = xmlStart
	return xmlStart, nil
}

// attr returns the value of the attribute with the given local name.
func (t *xmlTokenizer) attr(local string) ([]byte, bool) {
	for _, a := range t.attrs {
		if string(localName(a.Name)) == local {
			return a.Value, true
		}
	}
	return nil, false
}

// unescapeXML appends src to dst with entity and character references
// replaced.
func unescapeXML(dst, src []byte) ([]byte, error) {
	for len(src) > 0 {
		i := bytes.IndexByte(src, '&')
		if i < 0 {
			return append(dst, src...), nil
		}
		dst = append(dst, src[:i]...)
		src = src[i:]
		j := bytes.IndexByte(src, ';')
		if j < 0 || j > 12 {
			return dst, errors.New("malformed entity reference")
		}
		ref := src[1:j]
		src = src[j+1:]
		switch string(ref) {
		case "lt":
			dst = append(dst, '<')
		case "gt":
			dst = append(dst, '>')
		case "amp":
			dst = append(dst, '&')
		case "quot":
			dst = append(dst, '"')
		case "apos":
			dst = append(dst, '\'')
		default:
			if len(ref) < 2 || ref[0] != '#' {
				return dst, fmt.Errorf("unknown entity &%s; (entities are not expanded)", excerpt(string(ref)))
			}
			var r rune
			digits := ref[1:]
			base := rune(10)
			if digits[0] == 'x' {
				base, digits = 16, digits[1:]
			}
			if len(digits) == 0 {
				return dst, errors.New("malformed character reference")
			}
			for _, c := range digits {
				var v rune
				switch {
				case c >= '0' && c <= '9':
					v = rune(c - '0')
				case base == 16 && c >= 'a' && c <= 'f':
					v = rune(c-'a') + 10
				case base == 16 && c >= 'A' && c <= 'F':
					v = rune(c-'A') + 10
				default:
					return dst, errors.New("malformed character reference")
				}
				r = r*base + v
				if r > utf8.MaxRune {
					return dst, errors.New("character reference out of range")
				}
			}
			if r == 0 || !utf8.ValidRune(r) {
				return dst, errors.New("character reference out of range")
			}
			dst = utf8.AppendRune(dst, r)
		}
	}
	return dst, nil
}
