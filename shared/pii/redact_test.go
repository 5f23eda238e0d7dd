package pii

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

func TestRedact(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"id", "worker 620502197803120119 rejected", "worker 620502********0119 rejected"},
		{"id lower x", "id=11010519491231002x;", "id=110105********002X;"},
		{"id upper X", "11010519491231002X", "110105********002X"},
		{"card", "card 6228480010100001.", "card 6228********0001."},
		{"card with spaces", "pay to 6217 0000 2020 0001 ok", "pay to 6217********0001 ok"},
		{"card with double spaces", "6217  0000  2020  0001", "6217********0001"},
		{"two numbers", "6228480010100001,620502197803120119", "6228********0001,620502********0119"},
		{"inside letters", "ACCT6228480010100001X", "ACCT6228********0001X"},
		{"short run kept", "amount 12345678901 and 2026-10-08", "amount 12345678901 and 2026-10-08"},
		{"dates kept", "2026-10-08 2026-10-09 2026-10-10", "2026-10-08 2026-10-09 2026-10-10"},
		{"trailing space kept", "n 123 ", "n 123 "},
		{"empty", "", ""},
		{"chinese", "王建国 620502197803120119", "王建国 620502********0119"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Redact(tt.in); got != tt.want {
				t.Fatalf("Redact(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

type stringer struct{ s string }

func (s stringer) String() string { return s.s }

type holder struct{ Card string }

// secrets are the full numbers that must never reach the log output; the
// test below checks every digit string of each, with and without spaces.
var secrets = []string{"620502197803120119", "6228480010100001", "6217000020200001", "11010519491231002"}

func TestRedactingHandler(t *testing.T) {
	const (
		id      = "620502197803120119"
		card    = "6228480010100001"
		spaced  = "6217 0000 2020 0001"
		idLower = "11010519491231002x"
	)
	tests := []struct {
		name string
		log  func(l *slog.Logger)
		want []string
	}{
		{"message", func(l *slog.Logger) { l.Info("rejected " + id) }, []string{"620502********0119"}},
		{"string attr", func(l *slog.Logger) { l.Info("x", "id", id, "card", card) }, []string{"6228********0001"}},
		{"spaced card", func(l *slog.Logger) { l.Info("x", "card", spaced) }, []string{"6217********0001"}},
		{"lower x", func(l *slog.Logger) { l.Info("x", "id", idLower) }, []string{"110105********002X"}},
		{"group", func(l *slog.Logger) {
			l.Info("x", slog.Group("worker", "id", id, slog.Group("bank", "card", spaced)))
		}, []string{"620502********0119", "6217********0001"}},
		{"with attrs", func(l *slog.Logger) { l.With("id", id).Info("x") }, []string{"620502********0119"}},
		{"with group", func(l *slog.Logger) { l.WithGroup("g").Info("x", "card", card) }, []string{"6228********0001"}},
		{"error", func(l *slog.Logger) {
			l.Error("x", "err", fmt.Errorf("parse: %w", errors.New("bad card "+card)))
		}, []string{"6228********0001"}},
		{"stringer", func(l *slog.Logger) { l.Info("x", "v", stringer{spaced}) }, []string{"6217********0001"}},
		{"struct", func(l *slog.Logger) { l.Info("x", "v", holder{Card: card}) }, []string{"6228********0001"}},
		{"int", func(l *slog.Logger) { l.Info("x", "n", int64(6228480010100001)) }, []string{"6228********0001"}},
		{"short int kept", func(l *slog.Logger) { l.Info("x", "n", 42) }, []string{"n=42"}},
	}
	for _, tt := range tests {
		for _, format := range []string{"text", "json"} {
			t.Run(tt.name+"/"+format, func(t *testing.T) {
				var buf bytes.Buffer
				var inner slog.Handler = slog.NewTextHandler(&buf, nil)
				if format == "json" {
					inner = slog.NewJSONHandler(&buf, nil)
				}
				tt.log(slog.New(NewRedactingHandler(inner)))
				out := buf.String()
				flat := strings.ReplaceAll(out, " ", "")
				for _, s := range secrets {
					if strings.Contains(flat, s) {
						t.Fatalf("output holds %s in full: %s", MaskCard(s), Redact(out))
					}
				}
				for _, w := range tt.want {
					if format == "json" && strings.Contains(w, "=") {
						w = strings.Replace(w, "=", `":`, 1)
					}
					if !strings.Contains(out, w) {
						t.Fatalf("output %q lacks %q", out, w)
					}
				}
			})
		}
	}
}

func TestRedactingHandlerEnabled(t *testing.T) {
	inner := slog.NewTextHandler(&bytes.Buffer{}, &slog.HandlerOptions{Level: slog.LevelWarn})
	h := NewRedactingHandler(inner)
	if h.Enabled(t.Context(), slog.LevelInfo) {
		t.Fatal("info enabled under a warn handler")
	}
	if !h.Enabled(t.Context(), slog.LevelError) {
		t.Fatal("error disabled under a warn handler")
	}
}

func BenchmarkRedact(b *testing.B) {
	s := strings.Repeat("ingest file bank/abc.csv line 42 entry accepted, ", 4)
	for b.Loop() {
		Redact(s)
	}
}
