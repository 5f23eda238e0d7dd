package pii

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
)

// MinRedactDigits is the shortest run of digits Redact masks: shorter than
// any card (12) or identity number (18).
const MinRedactDigits = 12

// Redact returns s with every run of at least MinRedactDigits digits masked.
// A run may have spaces between its digits ("6217 0000 2020 0001"), and 17
// digits followed by X or x form an identity number. An 18-character run is
// masked as MaskID does, any other as MaskCard does; the spaces inside a run
// are dropped. Text without such a run is returned unchanged.
func Redact(s string) string {
	if countDigits(s) < MinRedactDigits {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); {
		if !isDigit(s[i]) {
			b.WriteByte(s[i])
			i++
			continue
		}
		j, run := scanRun(s, i)
		if len(run) < MinRedactDigits {
			b.WriteString(s[i:j])
		} else if len(run) == 18 {
			b.WriteString(MaskID(run))
		} else {
			b.WriteString(MaskCard(run))
		}
		i = j
	}
	return b.String()
}

// scanRun reads the run of digits starting at s[i] (a digit), allowing spaces
// between digits and a final X/x after 17 digits. It returns the end of the
// run and its characters without spaces.
func scanRun(s string, i int) (int, string) {
	var run []byte
	j := i
	for j < len(s) {
		c := s[j]
		if isDigit(c) {
			run = append(run, c)
			j++
			continue
		}
		if c == ' ' {
			k := j
			for k < len(s) && s[k] == ' ' {
				k++
			}
			if k < len(s) && isDigit(s[k]) {
				j = k
				continue
			}
		}
		break
	}
	if len(run) == 17 && j < len(s) && (s[j] == 'X' || s[j] == 'x') {
		run = append(run, 'X')
		j++
	}
	return j, string(run)
}

func countDigits(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		if isDigit(s[i]) {
			n++
		}
	}
	return n
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// NewRedactingHandler returns a slog.Handler that passes every record to h
// after running Redact over its message, every attribute key and every
// string value, inside groups too. Errors, fmt.Stringers and other values
// whose printed form holds a number to redact are replaced by their redacted
// text. Attributes given to WithAttrs are redacted the same way.
func NewRedactingHandler(h slog.Handler) slog.Handler {
	return &redactingHandler{next: h}
}

type redactingHandler struct {
	next slog.Handler
}

func (r *redactingHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return r.next.Enabled(ctx, l)
}

func (r *redactingHandler) Handle(ctx context.Context, rec slog.Record) error {
	out := slog.NewRecord(rec.Time, rec.Level, Redact(rec.Message), rec.PC)
	rec.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(redactAttr(a))
		return true
	})
	if err := r.next.Handle(ctx, out); err != nil {
		return fmt.Errorf("redacting handler: %w", err)
	}
	return nil
}

func (r *redactingHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	red := make([]slog.Attr, len(attrs))
	for i, a := range attrs {
		red[i] = redactAttr(a)
	}
	return &redactingHandler{next: r.next.WithAttrs(red)}
}

func (r *redactingHandler) WithGroup(name string) slog.Handler {
	return &redactingHandler{next: r.next.WithGroup(Redact(name))}
}

func redactAttr(a slog.Attr) slog.Attr {
	a.Key = Redact(a.Key)
	a.Value = redactValue(a.Value)
	return a
}

func redactValue(v slog.Value) slog.Value {
	v = v.Resolve()
	switch v.Kind() {
	case slog.KindString:
		return slog.StringValue(Redact(v.String()))
	case slog.KindGroup:
		g := v.Group()
		red := make([]slog.Attr, len(g))
		for i, a := range g {
			red[i] = redactAttr(a)
		}
		return slog.GroupValue(red...)
	case slog.KindInt64, slog.KindUint64:
		// A number as long as a card number is printed masked.
		if text := v.String(); len(strings.TrimPrefix(text, "-")) >= MinRedactDigits {
			return slog.StringValue(Redact(text))
		}
	case slog.KindAny:
		var text string
		switch x := v.Any().(type) {
		case error:
			return slog.StringValue(Redact(x.Error()))
		case fmt.Stringer:
			return slog.StringValue(Redact(x.String()))
		default:
			text = fmt.Sprintf("%+v", x)
		}
		if red := Redact(text); red != text {
			return slog.StringValue(red)
		}
	}
	return v
}
