package handler

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/wagewatch/wagewatch/shared/store"
)

// rejectLog collects the rejects of one file. Every reject goes to a
// temporary file, since the report written beside the file may be as long
// as the file itself; the first store.MaxRejectsKept stay in memory for the
// manifest. Memory does not grow with the number of bad rows.
type rejectLog struct {
	f    *os.File
	w    *bufio.Writer
	kept []store.Reject
	n    int
	size int64
	err  error // the first write error; finish reports it
}

func newRejectLog() (*rejectLog, error) {
	f, err := os.CreateTemp("", "wagewatch-rejects-*.jsonl")
	if err != nil {
		return nil, fmt.Errorf("rejects log: %w", err)
	}
	return &rejectLog{f: f, w: bufio.NewWriter(f)}, nil
}

// add logs one reject. A write error is kept for finish to report, so that
// callers in parse callbacks need not handle it.
func (l *rejectLog) add(r store.Reject) {
	l.n++
	if len(l.kept) < store.MaxRejectsKept {
		l.kept = append(l.kept, r)
	}
	if l.err != nil {
		return
	}
	b, err := json.Marshal(r)
	if err == nil {
		b = append(b, '\n')
		l.size += int64(len(b))
		_, err = l.w.Write(b)
	}
	if err != nil {
		l.err = fmt.Errorf("rejects log: %w", err)
	}
}

// report returns the whole log from its start.
func (l *rejectLog) report() (io.Reader, int64, error) {
	if l.err != nil {
		return nil, 0, l.err
	}
	if err := l.w.Flush(); err != nil {
		return nil, 0, fmt.Errorf("rejects log: %w", err)
	}
	if _, err := l.f.Seek(0, io.SeekStart); err != nil {
		return nil, 0, fmt.Errorf("rejects log: %w", err)
	}
	return l.f, l.size, nil
}

func (l *rejectLog) close() {
	name := l.f.Name()
	_ = l.f.Close()
	_ = os.Remove(name)
}

// finish writes the rejects report and the manifest beside the file, then
// the manifest of its content and the record of this upload.
func finish(ctx context.Context, b objects, files manifests, m store.Manifest, rl *rejectLog, at time.Time) error {
	body, size, err := rl.report()
	if err != nil {
		return err
	}
	if err := b.PutStream(ctx, "reports/"+m.Key+".rejects.jsonl", "application/x-ndjson", body, size); err != nil {
		return err
	}
	m.Rejects = rl.kept
	m.Truncated = rl.n > len(rl.kept)
	doc, _ := json.MarshalIndent(m, "", "  ")
	if err := b.Put(ctx, "reports/"+m.Key+".manifest.json", "application/json", doc); err != nil {
		return err
	}
	if err := files.PutManifest(ctx, m); err != nil {
		return err
	}
	return files.PutUpload(ctx, m.Key, at, m)
}
