package handler

import (
	"bufio"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/wagewatch/wagewatch/shared/store"
)

func TestRejectLog(t *testing.T) {
	rl, err := newRejectLog()
	if err != nil {
		t.Fatal(err)
	}
	defer rl.close()
	const n = store.MaxRejectsKept*3 + 7
	for i := 1; i <= n; i++ {
		rl.add(store.Reject{File: "bank/x.csv", Line: i, Reason: fmt.Sprintf("reason %d", i)})
	}
	if len(rl.kept) != store.MaxRejectsKept || rl.n != n {
		t.Fatalf("kept %d of %d, want %d of %d", len(rl.kept), rl.n, store.MaxRejectsKept, n)
	}
	body, size, err := rl.report()
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(body)
	lines, read := 0, int64(0)
	for sc.Scan() {
		lines++
		read += int64(len(sc.Bytes())) + 1
		var r store.Reject
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil || r.Line != lines {
			t.Fatalf("line %d: %s (%v)", lines, sc.Bytes(), err)
		}
	}
	if lines != n || read != size {
		t.Fatalf("report has %d lines of %d bytes, want %d lines of %d", lines, read, n, size)
	}
}
