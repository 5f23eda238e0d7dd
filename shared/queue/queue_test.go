package queue

import (
	"strings"
	"testing"
)

func TestBatches(t *testing.T) {
	small := Message{Body: "x"}
	big := Message{Body: strings.Repeat("b", 100*1024)}
	tests := []struct {
		name  string
		msgs  []Message
		sizes []int
	}{
		{"none", nil, nil},
		{"ten small", repeat(small, 10), []int{10}},
		{"eleven small", repeat(small, 11), []int{10, 1}},
		{"big ones by bytes", repeat(big, 5), []int{2, 2, 1}},
		{"one over the batch limit alone", []Message{{Body: strings.Repeat("o", MaxBatchBytes+1)}, small}, []int{1, 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Batches(tt.msgs)
			if len(got) != len(tt.sizes) {
				t.Fatalf("%d batches, want %d", len(got), len(tt.sizes))
			}
			total := 0
			for i, b := range got {
				if len(b) != tt.sizes[i] {
					t.Errorf("batch %d has %d messages, want %d", i, len(b), tt.sizes[i])
				}
				total += len(b)
			}
			if total != len(tt.msgs) {
				t.Errorf("batches hold %d messages, want %d", total, len(tt.msgs))
			}
		})
	}
}

func repeat(m Message, n int) []Message {
	out := make([]Message, n)
	for i := range out {
		out[i] = m
	}
	return out
}

func TestPacker(t *testing.T) {
	var sent [][]string
	p := NewPacker("hdr", func(h string, recs []string) error {
		if h != "hdr" {
			t.Fatalf("header %q", h)
		}
		sent = append(sent, recs)
		return nil
	})
	rec := strings.Repeat("r", 1000)
	for i := 0; i < 600; i++ {
		if err := p.Add(rec); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.Flush(); err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, m := range sent {
		if n := len(m) * 1003; n > MaxMessageBytes {
			t.Fatalf("a message of %d bytes of records", n)
		}
		total += len(m)
	}
	if total != 600 || len(sent) < 3 {
		t.Fatalf("%d records in %d messages", total, len(sent))
	}
}
