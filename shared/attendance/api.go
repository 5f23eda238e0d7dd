package attendance

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/wagewatch/wagewatch/shared/ledger"
	"github.com/wagewatch/wagewatch/shared/pii"
)

// Headers of a signed POST /v1/attendance request. The key id names the
// source (an attendance vendor) whose secret signs the request.
const (
	HeaderKeyID     = "X-WW-Key-Id"
	HeaderTimestamp = "X-WW-Timestamp"
	HeaderSignature = "X-WW-Signature"
)

// Limits of one API request.
const (
	MaxBatchRecords = 1000
	MaxBodyBytes    = 1 << 20
	// MaxClockSkew is how far a request's timestamp may be from the
	// server's clock, either way.
	MaxClockSkew = 5 * time.Minute
)

// APISource is the Source.File of records that came through the API; their
// Source.Line is the record's index in the batch (from 0). The handler may
// replace File with something more telling (the key id).
const APISource = "api"

// Batch is the body of POST /v1/attendance.
type Batch struct {
	Records []Wire `json:"records"`
}

// BatchIndex is the Index of a RecordError that rejects the whole request
// (the answer is then 400 and no record is taken).
const BatchIndex = -1

// RecordError is a rejected record of a batch, by its index from 0, or with
// Index BatchIndex a rejected batch. Its text never holds a full identity
// number.
type RecordError struct {
	Index  int    `json:"index"`
	Field  string `json:"field,omitempty"`
	Reason string `json:"reason"`
}

// WholeBatch reports whether the error rejects the whole request.
func (e RecordError) WholeBatch() bool { return e.Index == BatchIndex }

// Error prints "record 3: id_number: reason" or "batch: reason".
func (e RecordError) Error() string {
	var s string
	switch {
	case e.WholeBatch():
		s = "batch: " + e.Reason
	case e.Field == "":
		s = fmt.Sprintf("record %d: %s", e.Index, e.Reason)
	default:
		s = fmt.Sprintf("record %d: %s: %s", e.Index, e.Field, e.Reason)
	}
	return pii.Redact(s)
}

func batchError(reason string) []RecordError {
	return []RecordError{{Index: BatchIndex, Reason: reason}}
}

// DecodeBatch reads a request body {"records":[{...}, ...]} and validates
// each record as Read does. It returns the valid records and, by index, the
// reasons of the invalid ones; the valid ones are taken even when others
// are not. A body that is too big, not JSON, without records or with more
// than MaxBatchRecords is rejected whole: no record and one RecordError with
// Index BatchIndex (answer 400 with its reason).
func DecodeBatch(body []byte, h *pii.Hasher) ([]Record, []RecordError) {
	if h == nil {
		return nil, batchError("server has no hashing key")
	}
	if len(body) > MaxBodyBytes {
		return nil, batchError(fmt.Sprintf("body of %d bytes, at most %d allowed", len(body), MaxBodyBytes))
	}
	var raw struct {
		Records []json.RawMessage `json:"records"`
	}
	if err := json.Unmarshal(body, &raw); err != nil {
		return nil, batchError(pii.Redact("body is not a JSON object {\"records\":[...]}: " + err.Error()))
	}
	if len(raw.Records) == 0 {
		return nil, batchError("no records")
	}
	if len(raw.Records) > MaxBatchRecords {
		return nil, batchError(fmt.Sprintf("%d records, at most %d per request", len(raw.Records), MaxBatchRecords))
	}
	var recs []Record
	var errs []RecordError
	for i, m := range raw.Records {
		var w Wire
		if err := json.Unmarshal(m, &w); err != nil {
			errs = append(errs, RecordError{Index: i,
				Reason: pii.Redact("not a JSON object of string fields: " + err.Error())})
			continue
		}
		rec, ferrs := w.record(h, ledger.Source{File: APISource, Line: i})
		if len(ferrs) > 0 {
			for _, fe := range ferrs {
				errs = append(errs, RecordError{Index: i, Field: fe.field, Reason: fe.reason})
			}
			continue
		}
		recs = append(recs, rec)
	}
	return recs, errs
}

// Errors of Verify.
var (
	ErrNoSecret     = errors.New("no signing secret")
	ErrBadTimestamp = errors.New("bad timestamp")
	ErrStale        = errors.New("timestamp too far from now")
	ErrBadSignature = errors.New("bad signature")
)

// Sign returns the X-WW-Timestamp and X-WW-Signature header values for body
// sent at ts: the unix seconds, and the hex HMAC-SHA256 of
// timestamp + "." + body under secret.
func Sign(secret []byte, ts time.Time, body []byte) (tsHeader, sigHeader string) {
	tsHeader = strconv.FormatInt(ts.Unix(), 10)
	return tsHeader, hex.EncodeToString(mac(secret, tsHeader, body))
}

func mac(secret []byte, ts string, body []byte) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(ts))
	m.Write([]byte{'.'})
	m.Write(body)
	return m.Sum(nil)
}

// Verify checks a request's X-WW-Timestamp (ts) and X-WW-Signature (sig)
// headers against body and the source's secret: the timestamp must be unix
// seconds no more than MaxClockSkew from now either way, and the signature
// the hex HMAC-SHA256 of ts + "." + body (compared in constant time). The
// error wraps ErrNoSecret, ErrBadTimestamp, ErrStale or ErrBadSignature.
func Verify(secret []byte, ts, sig string, body []byte, now time.Time) error {
	if len(secret) == 0 {
		return fmt.Errorf("verify: %w", ErrNoSecret)
	}
	if ts == "" || strings.TrimLeft(ts, "0123456789") != "" || len(ts) > 12 {
		return fmt.Errorf("verify: %s %q is not unix seconds: %w", HeaderTimestamp, ts, ErrBadTimestamp)
	}
	secs, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return fmt.Errorf("verify: %s %q: %w", HeaderTimestamp, ts, ErrBadTimestamp)
	}
	if skew := now.Sub(time.Unix(secs, 0)); skew > MaxClockSkew || skew < -MaxClockSkew {
		return fmt.Errorf("verify: timestamp %s is %s from now, at most %s allowed: %w",
			ts, skew.Round(time.Second), MaxClockSkew, ErrStale)
	}
	got, err := hex.DecodeString(strings.TrimSpace(sig))
	if err != nil || len(got) != sha256.Size {
		return fmt.Errorf("verify: %s is not %d hex bytes: %w", HeaderSignature, sha256.Size, ErrBadSignature)
	}
	if !hmac.Equal(got, mac(secret, ts, body)) {
		return fmt.Errorf("verify: signature does not match: %w", ErrBadSignature)
	}
	return nil
}
