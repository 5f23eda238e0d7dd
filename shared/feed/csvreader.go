package feed

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/csv"
	"io"
	"math/bits"
)

// csvReader reads RFC 4180 records exactly as encoding/csv does with
// Comma ',', LazyQuotes false, FieldsPerRecord -1 and ReuseRecord (the same
// records, line numbers and *csv.ParseError values), but without copying:
// a record whose line holds no quote is returned as slices of the read
// buffer. It also bounds a record to csvMaxRecord bytes.
//
// The fields returned by read are valid until the next call.
type csvReader struct {
	r       *bufio.Reader
	numLine int
	// recBytes counts the bytes of the record being read.
	recBytes int
	// rawBuffer holds a line longer than the bufio buffer.
	rawBuffer []byte
	// recordBuffer and fieldIndexes hold the fields of a record with quotes.
	recordBuffer []byte
	fieldIndexes []int
	fields       [][]byte
	// record holds every field of the last record read, and offs where in
	// it each one starts: fields[i] is record[offs[i]:offs[i]+len(fields[i])].
	record []byte
	offs   []int
}

func newCSVReader(r io.Reader) *csvReader {
	br, ok := r.(*bufio.Reader)
	if !ok {
		br = bufio.NewReaderSize(r, 64<<10)
	}
	return &csvReader{r: br}
}

// readLine is encoding/csv's readLine, failing with errRecordTooLong once
// the record passes csvMaxRecord bytes.
func (r *csvReader) readLine() ([]byte, error) {
	line, err := r.r.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		r.rawBuffer = append(r.rawBuffer[:0], line...)
		for err == bufio.ErrBufferFull {
			if r.recBytes+len(r.rawBuffer) > csvMaxRecord {
				return nil, errRecordTooLong
			}
			line, err = r.r.ReadSlice('\n')
			r.rawBuffer = append(r.rawBuffer, line...)
		}
		line = r.rawBuffer
	}
	readSize := len(line)
	r.recBytes += readSize
	if r.recBytes > csvMaxRecord {
		return nil, errRecordTooLong
	}
	if readSize > 0 && err == io.EOF {
		err = nil
		// For backwards compatibility, drop trailing \r before EOF.
		if line[readSize-1] == '\r' {
			line = line[:readSize-1]
		}
	}
	r.numLine++
	// Normalize \r\n to \n on all input lines.
	if n := len(line); n >= 2 && line[n-2] == '\r' && line[n-1] == '\n' {
		line[n-2] = '\n'
		line = line[:n-1]
	}
	return line, err
}

func lengthNL(b []byte) int {
	if len(b) > 0 && b[len(b)-1] == '\n' {
		return 1
	}
	return 0
}

// read returns the next record and the line it starts on. Errors are
// io.EOF, *csv.ParseError (the record is bad, reading may go on),
// errRecordTooLong or a read error (reading must stop).
func (r *csvReader) read() ([][]byte, int, error) {
	r.recBytes = 0
	// Read line (automatically skipping past empty lines).
	var line []byte
	var errRead error
	for errRead == nil {
		line, errRead = r.readLine()
		if errRead == nil && len(line) == lengthNL(line) {
			r.recBytes = 0
			line = nil
			continue // Skip empty lines
		}
		break
	}
	if errRead == io.EOF {
		return nil, 0, errRead
	}
	if errRead == errRecordTooLong {
		return nil, r.numLine + 1, errRead
	}
	recLine := r.numLine
	r.fields, r.offs = r.fields[:0], r.offs[:0]
	if errRead == nil && bytes.IndexByte(line, '"') < 0 {
		// Fast path: no quote, so fields are the bytes between commas.
		line = line[:len(line)-lengthNL(line)]
		r.record = line
		r.split(line)
		return r.fields, recLine, nil
	}
	return r.readQuoted(line, errRead, recLine)
}

// Masks for split: every byte 0x7F, every byte a comma.
const (
	lo7    = 0x7F7F7F7F7F7F7F7F
	commas = 0x2C2C2C2C2C2C2C2C
)

// split appends the comma-separated fields of line to r.fields, looking at
// 8 bytes at a time.
func (r *csvReader) split(line []byte) {
	start, i := 0, 0
	for ; i+8 <= len(line); i += 8 {
		x := binary.LittleEndian.Uint64(line[i:]) ^ commas
		// The high bit of each byte that is zero in x, i.e. a comma (exact
		// per byte: no carry crosses bytes).
		m := ^(((x & lo7) + lo7) | x | lo7)
		for m != 0 {
			j := i + bits.TrailingZeros64(m)>>3
			r.fields = append(r.fields, line[start:j])
			r.offs = append(r.offs, start)
			start = j + 1
			m &= m - 1
		}
	}
	for ; i < len(line); i++ {
		if line[i] == ',' {
			r.fields = append(r.fields, line[start:i])
			r.offs = append(r.offs, start)
			start = i + 1
		}
	}
	r.fields = append(r.fields, line[start:])
	r.offs = append(r.offs, start)
}

type csvPos struct{ line, col int }

// readQuoted is the rest of encoding/csv's readRecord for a line with a
// quote (or a read error).
func (r *csvReader) readQuoted(line []byte, errRead error, recLine int) ([][]byte, int, error) {
	var err error
	const quoteLen = 1
	const commaLen = 1
	r.recordBuffer = r.recordBuffer[:0]
	r.fieldIndexes = r.fieldIndexes[:0]
	pos := csvPos{line: r.numLine, col: 1}
parseField:
	for {
		if len(line) == 0 || line[0] != '"' {
			// Non-quoted string field
			i := bytes.IndexByte(line, ',')
			field := line
			if i >= 0 {
				field = field[:i]
			} else {
				field = field[:len(field)-lengthNL(field)]
			}
			// Check to make sure a quote does not appear in field.
			if j := bytes.IndexByte(field, '"'); j >= 0 {
				col := pos.col + j
				err = &csv.ParseError{StartLine: recLine, Line: r.numLine, Column: col, Err: csv.ErrBareQuote}
				break parseField
			}
			r.recordBuffer = append(r.recordBuffer, field...)
			r.fieldIndexes = append(r.fieldIndexes, len(r.recordBuffer))
			if i >= 0 {
				line = line[i+commaLen:]
				pos.col += i + commaLen
				continue parseField
			}
			break parseField
		}
		// Quoted string field
		line = line[quoteLen:]
		pos.col += quoteLen
		for {
			i := bytes.IndexByte(line, '"')
			switch {
			case i >= 0:
				// Hit next quote.
				r.recordBuffer = append(r.recordBuffer, line[:i]...)
				line = line[i+quoteLen:]
				pos.col += i + quoteLen
				switch {
				case len(line) > 0 && line[0] == '"':
					// `""` sequence (append quote).
					r.recordBuffer = append(r.recordBuffer, '"')
					line = line[quoteLen:]
					pos.col += quoteLen
				case len(line) > 0 && line[0] == ',':
					// `",` sequence (end of field).
					line = line[commaLen:]
					pos.col += commaLen
					r.fieldIndexes = append(r.fieldIndexes, len(r.recordBuffer))
					continue parseField
				case lengthNL(line) == len(line):
					// `"\n` sequence (end of line).
					r.fieldIndexes = append(r.fieldIndexes, len(r.recordBuffer))
					break parseField
				default:
					// `"*` sequence (invalid non-escaped quote).
					err = &csv.ParseError{StartLine: recLine, Line: r.numLine, Column: pos.col - quoteLen, Err: csv.ErrQuote}
					break parseField
				}
			case len(line) > 0:
				// Hit end of line (copy all data so far).
				r.recordBuffer = append(r.recordBuffer, line...)
				if errRead != nil {
					break parseField
				}
				pos.col += len(line)
				line, errRead = r.readLine()
				if errRead == errRecordTooLong {
					return nil, recLine, errRead
				}
				if len(line) > 0 {
					pos.line++
					pos.col = 1
				}
				if errRead == io.EOF {
					errRead = nil
				}
			default:
				// Abrupt end of file (EOF or error).
				if errRead == nil {
					err = &csv.ParseError{StartLine: recLine, Line: pos.line, Column: pos.col, Err: csv.ErrQuote}
					break parseField
				}
				r.fieldIndexes = append(r.fieldIndexes, len(r.recordBuffer))
				break parseField
			}
		}
	}
	if err == nil {
		err = errRead
	}
	pre := 0
	for _, idx := range r.fieldIndexes {
		r.fields = append(r.fields, r.recordBuffer[pre:idx])
		r.offs = append(r.offs, pre)
		pre = idx
	}
	r.record = r.recordBuffer
	return r.fields, recLine, err
}
