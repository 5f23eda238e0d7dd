package registry

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/wagewatch/wagewatch/shared/pii"
	"github.com/wagewatch/wagewatch/shared/textenc"
)

// RowError is a rejected row: the file, the 1-based line the row starts on,
// the column at fault (empty when the row as a whole is at fault) and the
// reason. Returned as the error of a Read function (a *RowError), it
// rejects the whole file, e.g. a header that lacks a required column. Its text never holds a full identity or card number: the
// constructors and Error run pii.Redact over it.
type RowError struct {
	File   string `json:"file"`
	Line   int    `json:"line"`
	Field  string `json:"field,omitempty"`
	Reason string `json:"reason"`
}

// Error prints "file:line: field: reason", leaving out an empty field.
func (e RowError) Error() string {
	if e.Field == "" {
		return pii.Redact(fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Reason))
	}
	return pii.Redact(fmt.Sprintf("%s:%d: %s: %s", e.File, e.Line, e.Field, e.Reason))
}

func rowError(file string, line int, field, reason string) RowError {
	return RowError{File: file, Line: line, Field: field, Reason: pii.Redact(reason)}
}

// Table reads a CSV file with a header row, one row at a time: the text
// encoding is detected (textenc.Detect), columns are found by name in any
// order, names are matched without case and surrounding spaces, and columns
// it was not asked for are ignored.
type Table struct {
	file string
	r    *csv.Reader
	cols map[string]int
	n    int // header width
}

// Row is one data row of a Table.
type Row struct {
	Line   int
	fields []string
	cols   map[string]int
}

// Get returns the named column's value with surrounding white space removed;
// "" for a column the file does not have or the row does not reach.
func (r Row) Get(name string) string {
	i, ok := r.cols[name]
	if !ok || i >= len(r.fields) {
		return ""
	}
	return strings.TrimSpace(r.fields[i])
}

// OpenTable detects the text encoding of a CSV file (textenc.Detect) and
// reads its header as NewTable does.
func OpenTable(r io.Reader, file string, required ...string) (*Table, error) {
	text, _ := textenc.Detect(r)
	return NewTable(text, file, required...)
}

// NewTable reads the header of a CSV file that is already UTF-8 text. A
// header without one of the required columns, with a column named twice, or
// no header at all, is a file-level error (a *RowError); the file cannot be
// read.
func NewTable(text io.Reader, file string, required ...string) (*Table, error) {
	cr := csv.NewReader(text)
	cr.FieldsPerRecord = -1
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		e := rowError(file, 1, "", "empty file: no header row")
		return nil, &e
	}
	if err != nil {
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			e := rowError(file, pe.StartLine, "", "header: "+pe.Err.Error())
			return nil, &e
		}
		return nil, fmt.Errorf("read header of %s: %w", file, err)
	}
	t := &Table{file: file, r: cr, cols: make(map[string]int, len(header)), n: len(header)}
	for i, h := range header {
		name := strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\uFEFF")))
		if name == "" {
			continue
		}
		if _, dup := t.cols[name]; dup {
			e := rowError(file, 1, name, "column appears twice in the header")
			return nil, &e
		}
		t.cols[name] = i
	}
	var missing []string
	for _, name := range required {
		if _, ok := t.cols[name]; !ok {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		e := rowError(file, 1, "", "header lacks required column(s) "+strings.Join(missing, ", "))
		return nil, &e
	}
	return t, nil
}

// Has reports whether the header has the named column.
func (t *Table) Has(name string) bool {
	_, ok := t.cols[name]
	return ok
}

// Next returns the next data row. At the end of the file it returns io.EOF.
// A row that is not well-formed CSV, or has more fields than the header, is
// returned as a *RowError; reading may go on after it. Any other error is
// an I/O error, after which the table cannot be read further.
func (t *Table) Next() (Row, error) {
	rec, err := t.r.Read()
	if errors.Is(err, io.EOF) {
		return Row{}, io.EOF
	}
	if err != nil {
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			e := rowError(t.file, pe.StartLine, "", "not well-formed CSV: "+pe.Err.Error())
			return Row{}, &e
		}
		return Row{}, fmt.Errorf("read %s: %w", t.file, err)
	}
	line, _ := t.r.FieldPos(0)
	if len(rec) > t.n {
		e := rowError(t.file, line, "", fmt.Sprintf("%d fields, the header has %d", len(rec), t.n))
		return Row{Line: line}, &e
	}
	return Row{Line: line, fields: rec, cols: t.cols}, nil
}

// readAll reads every row of t, handing each well-formed one to f, which
// returns the row's field errors (none when the row is valid). It collects
// all errors; only an I/O error stops it.
func readAll(t *Table, f func(Row) []RowError) ([]RowError, error) {
	var rejects []RowError
	for {
		row, err := t.Next()
		if errors.Is(err, io.EOF) {
			return rejects, nil
		}
		var re *RowError
		if errors.As(err, &re) {
			rejects = append(rejects, *re)
			continue
		}
		if err != nil {
			return rejects, err
		}
		rejects = append(rejects, f(row)...)
	}
}
