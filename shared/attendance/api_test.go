package attendance

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/wagewatch/wagewatch/shared/day"
	"github.com/wagewatch/wagewatch/shared/ledger"
	"github.com/wagewatch/wagewatch/shared/pii"
)

func batchBody(t *testing.T, recs ...any) []byte {
	t.Helper()
	b, err := json.Marshal(map[string]any{"records": recs})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDecodeBatch(t *testing.T) {
	h := testHasher(t)
	good := Wire{ProjectID: "TS-QZ-001", IDNumber: goodID, Date: "2026-10-08", ClockIn: "07:58", ClockOut: "18:08", DeviceID: "DEV-1"}
	body := batchBody(t,
		good,
		Wire{ProjectID: "TS-QZ-001", IDNumber: "620502197803120118", Date: "2026-10-08"},
		map[string]any{"project_id": "TS-QZ-001", "id_number": 620502197803120119, "date": "2026-10-08"},
		"not an object",
		Wire{ProjectID: "TS-QZ-001", IDNumber: "11010519491231002x", Date: "2026-13-01", ClockIn: "25:00"},
		Wire{ProjectID: "TS-QZ-001", IDNumber: otherID, Date: "2026-10-09"},
	)
	recs, errs := DecodeBatch(body, h)
	want := []Record{
		{ProjectID: "TS-QZ-001", IDHash: h.HashID(goodID), IDMasked: "620502********0119", Date: day.New(2026, 10, 8),
			ClockIn: "07:58", ClockOut: "18:08", DeviceID: "DEV-1", Source: ledger.Source{File: APISource, Line: 0}},
		{ProjectID: "TS-QZ-001", IDHash: h.HashID(otherID), IDMasked: "620502********0234", Date: day.New(2026, 10, 9),
			Source: ledger.Source{File: APISource, Line: 5}},
	}
	if len(recs) != len(want) {
		t.Fatalf("got %d records, want %d: %+v", len(recs), len(want), recs)
	}
	for i := range want {
		if recs[i] != want[i] {
			t.Errorf("record %d = %+v, want %+v", i, recs[i], want[i])
		}
	}
	wantErrs := []struct {
		index         int
		field, reason string
	}{
		{1, "id_number", "does not verify"},
		{2, "", "not a JSON object"},
		{3, "", "not a JSON object"},
		{4, "date", "not a date"},
		{4, "clock_in", "HH:MM"},
	}
	if len(errs) != len(wantErrs) {
		t.Fatalf("errors = %v, want %d", errs, len(wantErrs))
	}
	for i, w := range wantErrs {
		e := errs[i]
		if e.Index != w.index || e.Field != w.field || !strings.Contains(e.Reason, w.reason) || e.WholeBatch() {
			t.Errorf("error %d = %+v, want index %d field %q reason %q", i, e, w.index, w.field, w.reason)
		}
		if strings.Contains(e.Error(), goodID) || strings.Contains(e.Error(), "620502197803120118") {
			t.Errorf("error %q holds an identity number", pii.Redact(e.Error()))
		}
	}
	if got := errs[0].Error(); !strings.HasPrefix(got, "record 1: id_number: ") {
		t.Errorf("Error() = %q", got)
	}
}

func TestDecodeBatchWhole(t *testing.T) {
	h := testHasher(t)
	one := Wire{ProjectID: "TS-QZ-001", IDNumber: goodID, Date: "2026-10-08"}
	many := make([]any, MaxBatchRecords+1)
	for i := range many {
		many[i] = one
	}
	tests := []struct {
		name   string
		body   []byte
		reason string
	}{
		{"empty body", nil, "not a JSON object"},
		{"not json", []byte("records=1"), "not a JSON object"},
		{"array", []byte(`[{"project_id":"TS-QZ-001"}]`), "not a JSON object"},
		{"records not array", []byte(`{"records":{"project_id":"TS-QZ-001"}}`), "not a JSON object"},
		{"no records key", []byte(`{"recs":[]}`), "no records"},
		{"empty records", []byte(`{"records":[]}`), "no records"},
		{"too many", batchBody(t, many...), "at most 1000"},
		{"too big", []byte(`{"records":[` + strings.Repeat(" ", MaxBodyBytes) + `]}`), "bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			recs, errs := DecodeBatch(tt.body, h)
			if recs != nil {
				t.Fatalf("records taken from a rejected batch: %d", len(recs))
			}
			if len(errs) != 1 || !errs[0].WholeBatch() || !strings.Contains(errs[0].Reason, tt.reason) {
				t.Fatalf("errors = %v, want one whole-batch error about %q", errs, tt.reason)
			}
			if !strings.HasPrefix(errs[0].Error(), "batch: ") {
				t.Fatalf("Error() = %q", errs[0].Error())
			}
		})
	}
	t.Run("exactly 1000", func(t *testing.T) {
		recs, errs := DecodeBatch(batchBody(t, many[:MaxBatchRecords]...), h)
		if len(recs) != MaxBatchRecords || len(errs) != 0 {
			t.Fatalf("got %d records, %v", len(recs), errs)
		}
	})
	t.Run("nil hasher", func(t *testing.T) {
		if _, errs := DecodeBatch(batchBody(t, one), nil); len(errs) != 1 || !errs[0].WholeBatch() {
			t.Fatalf("errors = %v", errs)
		}
	})
}

func TestSignVerify(t *testing.T) {
	secret := []byte("source-secret")
	body := []byte(`{"records":[]}`)
	now := time.Date(2026, 11, 20, 9, 0, 0, 0, day.Shanghai)
	ts, sig := Sign(secret, now, body)

	m := hmac.New(sha256.New, secret)
	m.Write([]byte(fmt.Sprintf("%d.%s", now.Unix(), body)))
	if want := hex.EncodeToString(m.Sum(nil)); sig != want || ts != fmt.Sprint(now.Unix()) {
		t.Fatalf("Sign = %s, %s; want %d, %s", ts, sig, now.Unix(), want)
	}

	tests := []struct {
		name   string
		secret []byte
		ts     string
		sig    string
		body   []byte
		now    time.Time
		want   error
	}{
		{"good", secret, ts, sig, body, now, nil},
		{"upper-case hex", secret, ts, strings.ToUpper(sig), body, now, nil},
		{"5 minutes late", secret, ts, sig, body, now.Add(5 * time.Minute), nil},
		{"5 minutes early", secret, ts, sig, body, now.Add(-5 * time.Minute), nil},
		{"too late", secret, ts, sig, body, now.Add(5*time.Minute + time.Second), ErrStale},
		{"too early", secret, ts, sig, body, now.Add(-5*time.Minute - time.Second), ErrStale},
		{"tampered body", secret, ts, sig, []byte(`{"records":[1]}`), now, ErrBadSignature},
		{"wrong secret", []byte("other-secret"), ts, sig, body, now, ErrBadSignature},
		{"timestamp changed", secret, fmt.Sprint(now.Unix() + 1), sig, body, now, ErrBadSignature},
		{"truncated signature", secret, ts, sig[:62], body, now, ErrBadSignature},
		{"not hex", secret, ts, strings.Repeat("zz", 32), body, now, ErrBadSignature},
		{"empty signature", secret, ts, "", body, now, ErrBadSignature},
		{"empty timestamp", secret, "", sig, body, now, ErrBadTimestamp},
		{"negative timestamp", secret, "-" + ts, sig, body, now, ErrBadTimestamp},
		{"RFC 3339 timestamp", secret, now.Format(time.RFC3339), sig, body, now, ErrBadTimestamp},
		{"no secret", nil, ts, sig, body, now, ErrNoSecret},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Verify(tt.secret, tt.ts, tt.sig, tt.body, tt.now)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Verify = %v, want nil", err)
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("Verify = %v, want %v", err, tt.want)
			}
		})
	}
}
