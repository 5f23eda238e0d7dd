// Package attendance holds the attendance records that real-name attendance
// devices report — who worked on which project on which day — and reads and
// validates them from files (CSV or JSON Lines, streamed) and from the
// attendance HTTP API (signed JSON batches), as ../../shared/spec/data.md
// describes. Identity numbers are kept only hashed and masked.
package attendance

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/wagewatch/wagewatch/shared/day"
	"github.com/wagewatch/wagewatch/shared/ledger"
	"github.com/wagewatch/wagewatch/shared/pii"
	"github.com/wagewatch/wagewatch/shared/registry"
	"github.com/wagewatch/wagewatch/shared/textenc"
)

// Record is one attendance record: a worker (the keyed hash of the identity
// number) clocked on a project on a date. ClockIn, ClockOut (HH:MM) and
// DeviceID are optional.
type Record struct {
	ProjectID string        `json:"project_id"`
	IDHash    string        `json:"id_hash"`
	IDMasked  string        `json:"id_masked"`
	Date      day.Date      `json:"date"`
	ClockIn   string        `json:"clock_in,omitempty"`
	ClockOut  string        `json:"clock_out,omitempty"`
	DeviceID  string        `json:"device_id,omitempty"`
	Source    ledger.Source `json:"src"`
}

// WorkDayKey identifies the day of work a record proves: (project, worker,
// date). Records with the same key are the same day worked; more add
// nothing.
func (r Record) WorkDayKey() string {
	return r.ProjectID + "/" + r.IDHash + "/" + r.Date.String()
}

// RowError is a rejected row or line of an attendance file, or with no
// field a rejected file; its text never holds a full identity number.
type RowError = registry.RowError

// Wire is a record as files and the HTTP API carry it: the CSV columns and
// the JSON names are the same.
type Wire struct {
	ProjectID string `json:"project_id"`
	IDNumber  string `json:"id_number"`
	Date      string `json:"date"`
	ClockIn   string `json:"clock_in,omitempty"`
	ClockOut  string `json:"clock_out,omitempty"`
	DeviceID  string `json:"device_id,omitempty"`
}

// fieldError is one invalid field of a record.
type fieldError struct {
	field, reason string
}

// record validates w and builds the Record, hashing and masking the
// identity number with h. It returns every invalid field.
func (w Wire) record(h *pii.Hasher, src ledger.Source) (Record, []fieldError) {
	var errs []fieldError
	fail := func(field string, err error) {
		errs = append(errs, fieldError{field, pii.Redact(err.Error())})
	}
	rec := Record{
		ProjectID: w.ProjectID,
		ClockIn:   w.ClockIn,
		ClockOut:  w.ClockOut,
		DeviceID:  w.DeviceID,
		Source:    src,
	}
	if err := registry.ValidProjectID(w.ProjectID); err != nil {
		fail("project_id", err)
	}
	if id, err := registry.CheckIDNumber(w.IDNumber); err != nil {
		fail("id_number", err)
	} else {
		rec.IDHash, rec.IDMasked = h.HashID(id), pii.MaskID(id)
	}
	if w.Date == "" {
		fail("date", errors.New("missing"))
	} else if d, err := day.Parse(w.Date); err != nil {
		fail("date", err)
	} else {
		rec.Date = d
	}
	if err := checkClock(w.ClockIn); err != nil {
		fail("clock_in", err)
	}
	if err := checkClock(w.ClockOut); err != nil {
		fail("clock_out", err)
	}
	return rec, errs
}

// checkClock accepts "" or HH:MM from 00:00 to 23:59.
func checkClock(s string) error {
	if s == "" {
		return nil
	}
	ok := len(s) == 5 && s[2] == ':' && digit(s[0]) && digit(s[1]) && digit(s[3]) && digit(s[4])
	if ok {
		h := int(s[0]-'0')*10 + int(s[1]-'0')
		m := int(s[3]-'0')*10 + int(s[4]-'0')
		ok = h < 24 && m < 60
	}
	if !ok {
		return fmt.Errorf("%q is not a time HH:MM from 00:00 to 23:59", s)
	}
	return nil
}

func digit(c byte) bool { return c >= '0' && c <= '9' }

// MaxLineBytes is the longest JSON Lines line Read accepts; a longer line is
// rejected without being held in memory.
const MaxLineBytes = 64 << 10

// sniffBytes is how far Read looks for the first non-space byte.
const sniffBytes = 64 << 10

// Read reads an attendance file, CSV or JSON Lines, told apart by content:
// a file whose first non-space byte is '{' is JSON Lines. CSV has a header
// with project_id, id_number and date, and optionally clock_in, clock_out
// and device_id, in any order (other columns ignored); its text encoding is
// detected. Each valid record is passed to emit as soon as it is read, so a
// big file is never held in memory; every invalid row is returned with its
// line and reason. Read stops with an error when the file cannot be read,
// when a CSV header is unusable (a *RowError), or when emit fails.
func Read(r io.Reader, file string, h *pii.Hasher, emit func(Record) error) ([]RowError, error) {
	if h == nil {
		return nil, fmt.Errorf("read attendance %s: nil hasher", file)
	}
	text, _ := textenc.Detect(r)
	br := bufio.NewReaderSize(text, sniffBytes)
	head, err := br.Peek(sniffBytes)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
		return nil, fmt.Errorf("read attendance %s: %w", file, err)
	}
	if trimmed := bytes.TrimSpace(head); len(trimmed) > 0 && trimmed[0] == '{' {
		return readJSONLines(br, file, h, emit)
	}
	return readCSV(br, file, h, emit)
}

func readCSV(text io.Reader, file string, h *pii.Hasher, emit func(Record) error) ([]RowError, error) {
	t, err := registry.NewTable(text, file, "project_id", "id_number", "date")
	if err != nil {
		return nil, err
	}
	var rejects []RowError
	for {
		row, err := t.Next()
		if errors.Is(err, io.EOF) {
			return rejects, nil
		}
		var re *registry.RowError
		if errors.As(err, &re) {
			rejects = append(rejects, *re)
			continue
		}
		if err != nil {
			return rejects, fmt.Errorf("read attendance %s: %w", file, err)
		}
		w := Wire{
			ProjectID: row.Get("project_id"),
			IDNumber:  row.Get("id_number"),
			Date:      row.Get("date"),
			ClockIn:   row.Get("clock_in"),
			ClockOut:  row.Get("clock_out"),
			DeviceID:  row.Get("device_id"),
		}
		rec, errs := w.record(h, ledger.Source{File: file, Line: row.Line})
		if len(errs) > 0 {
			rejects = appendRowErrors(rejects, file, row.Line, errs)
			continue
		}
		if err := emit(rec); err != nil {
			return rejects, fmt.Errorf("emit attendance %s:%d: %w", file, row.Line, err)
		}
	}
}

func readJSONLines(br *bufio.Reader, file string, h *pii.Hasher, emit func(Record) error) ([]RowError, error) {
	var rejects []RowError
	for line := 1; ; line++ {
		b, tooLong, err := readLine(br)
		if err != nil && !errors.Is(err, io.EOF) {
			return rejects, fmt.Errorf("read attendance %s:%d: %w", file, line, err)
		}
		eof := errors.Is(err, io.EOF)
		switch b = bytes.TrimSpace(b); {
		case tooLong:
			rejects = append(rejects, RowError{File: file, Line: line,
				Reason: fmt.Sprintf("line longer than %d bytes", MaxLineBytes)})
		case len(b) == 0:
			// blank line
		default:
			var w Wire
			if jerr := json.Unmarshal(b, &w); jerr != nil {
				rejects = append(rejects, RowError{File: file, Line: line,
					Reason: pii.Redact("not a JSON object of string fields: " + jerr.Error())})
				break
			}
			rec, errs := w.record(h, ledger.Source{File: file, Line: line})
			if len(errs) > 0 {
				rejects = appendRowErrors(rejects, file, line, errs)
				break
			}
			if err := emit(rec); err != nil {
				return rejects, fmt.Errorf("emit attendance %s:%d: %w", file, line, err)
			}
		}
		if eof {
			return rejects, nil
		}
	}
}

// readLine returns the next line without its end, reading at most
// MaxLineBytes of it into memory; the rest of a longer line is skipped and
// tooLong set. err is io.EOF on the last line.
func readLine(br *bufio.Reader) (line []byte, tooLong bool, err error) {
	var buf []byte
	for {
		chunk, err := br.ReadSlice('\n')
		if !tooLong {
			if len(buf)+len(chunk) > MaxLineBytes+2 { // room for "\r\n"
				tooLong, buf = true, nil
			} else {
				buf = append(buf, chunk...)
			}
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		return buf, tooLong, err
	}
}

func appendRowErrors(rejects []RowError, file string, line int, errs []fieldError) []RowError {
	for _, e := range errs {
		rejects = append(rejects, RowError{File: file, Line: line, Field: e.field, Reason: e.reason})
	}
	return rejects
}

// ErrNotEnrolled is wrapped by CheckEnrolled's errors.
var ErrNotEnrolled = errors.New("not enrolled")

// CheckEnrolled rejects a record of a worker who is not enrolled on the
// record's project on its date (enrolled_on ≤ date, and left_on empty or ≥
// date; data.md). roster may hold any enrolments; those of other projects
// and workers are ignored. The error wraps ErrNotEnrolled and names the
// worker only by the masked identity number.
func CheckEnrolled(rec Record, roster []registry.Enrolment) error {
	var spans []string
	for _, e := range roster {
		if e.ProjectID != rec.ProjectID || e.IDHash != rec.IDHash {
			continue
		}
		if e.EnrolledAt(rec.Date) {
			return nil
		}
		span := "from " + e.EnrolledOn.String()
		if e.HasLeft {
			span += " to " + e.LeftOn.String()
		}
		spans = append(spans, span)
	}
	if len(spans) == 0 {
		return fmt.Errorf("worker %s is %w on project %s", rec.IDMasked, ErrNotEnrolled, rec.ProjectID)
	}
	return fmt.Errorf("worker %s is %w on project %s on %s (enrolled %s)",
		rec.IDMasked, ErrNotEnrolled, rec.ProjectID, rec.Date, joinSpans(spans))
}

func joinSpans(s []string) string {
	out := s[0]
	for _, x := range s[1:] {
		out += "; " + x
	}
	return out
}
