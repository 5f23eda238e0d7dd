package feed

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math/rand"
	"strings"
	"testing"
	"testing/iotest"

	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/transform"
)

// csvRecords reads data with encoding/csv (as parseCSV used to) or with
// csvReader and prints every record or error with its line.
func csvRecords(data []byte, std bool) string {
	var out strings.Builder
	if std {
		r := csv.NewReader(bytes.NewReader(data))
		r.ReuseRecord, r.FieldsPerRecord = true, -1
		for {
			rec, err := r.Read()
			if err == io.EOF {
				break
			}
			if err != nil {
				fmt.Fprintf(&out, "error %v\n", err)
				continue
			}
			line, _ := r.FieldPos(0)
			fmt.Fprintf(&out, "%d %q\n", line, rec)
		}
		return out.String()
	}
	r := newCSVReader(bytes.NewReader(data))
	for {
		rec, line, err := r.read()
		if err == io.EOF {
			break
		}
		if err != nil {
			fmt.Fprintf(&out, "error %v\n", err)
			if errors.Is(err, errRecordTooLong) {
				break
			}
			continue
		}
		s := make([]string, len(rec))
		for i, f := range rec {
			s[i] = string(f)
			if o := r.offs[i]; string(r.record[o:o+len(f)]) != s[i] {
				fmt.Fprintf(&out, "field %d not at offset %d of the record\n", i, o)
			}
		}
		fmt.Fprintf(&out, "%d %q\n", line, s)
	}
	return out.String()
}

var csvReaderCases = []string{
	"a,b\n1,2\n",
	"a,b\r\n1,2\r\n",
	"a,b\n\n\r\n1,2",
	"a,b\n1,2\r",
	"a,\"b\nc\"\n1,\"x\"\"y\",z\n",
	"a,\"b\r\nc\"\r\n",
	"a,b\"c\n1,2\n",
	"a,\"b\"c,d\n1,2\n",
	"a,\"unterminated\n1,2\n",
	"\"\"\n,\n,,\n",
	"a,\"b\"\n",
	"\"a\",\"b\"\r\n\"c\"",
	"\xff,\"\xfe\"\n",
	"x\ny\"\n\"z\n",
	"a,b\n\"q\"\"\n",
}

func TestCSVReaderMatchesEncodingCSV(t *testing.T) {
	rng := rand.New(rand.NewSource(7))
	alpha := []byte("ab,\"\r\n ")
	cases := append([]string(nil), csvReaderCases...)
	for range 3000 {
		b := make([]byte, rng.Intn(40))
		for i := range b {
			b[i] = alpha[rng.Intn(len(alpha))]
		}
		cases = append(cases, string(b))
	}
	// A line longer than the read buffer.
	cases = append(cases, "a,"+strings.Repeat("x", 100<<10)+",\"q\nr\"\n1,2\n")
	for _, c := range cases {
		want, got := csvRecords([]byte(c), true), csvRecords([]byte(c), false)
		if got != want {
			t.Fatalf("%q:\ncsvReader:\n%s\nencoding/csv:\n%s", c, got, want)
		}
	}
}

func FuzzCSVReader(f *testing.F) {
	for _, c := range csvReaderCases {
		f.Add([]byte(c))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		want, got := csvRecords(data, true), csvRecords(data, false)
		if got != want {
			t.Fatalf("csvReader:\n%s\nencoding/csv:\n%s", got, want)
		}
	})
}

func TestCSVReaderRecordLimit(t *testing.T) {
	long := strings.Repeat("x", csvMaxRecord)
	for _, c := range []struct {
		name, data string
		line       int
	}{
		{"long line", "a,b\n\n1," + long + "\n", 3},
		{"long quoted field", "a,b\n1,\"" + strings.Repeat("x\n", csvMaxRecord/2) + "\"\n", 2},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := newCSVReader(strings.NewReader(c.data))
			if _, _, err := r.read(); err != nil {
				t.Fatal(err)
			}
			_, line, err := r.read()
			if !errors.Is(err, errRecordTooLong) || line != c.line {
				t.Fatalf("line %d, err %v; want line %d, %v", line, err, c.line, errRecordTooLong)
			}
		})
	}
}

// decodeGB18030 decodes data with x/text's decoder or ours, through a
// reader that hands out one byte at a time when slow.
func decodeGB18030(data []byte, ours, slow bool) (string, error) {
	var r io.Reader = bytes.NewReader(data)
	if slow {
		r = iotest.OneByteReader(r)
	}
	var t transform.Transformer = simplifiedchinese.GB18030.NewDecoder()
	if ours {
		t = newGB18030Decoder()
	}
	b, err := io.ReadAll(transform.NewReader(r, t))
	return string(b), err
}

func checkGB18030(t *testing.T, data []byte) {
	t.Helper()
	for _, slow := range []bool{false, true} {
		want, werr := decodeGB18030(data, false, slow)
		got, gerr := decodeGB18030(data, true, slow)
		if got != want || fmt.Sprint(gerr) != fmt.Sprint(werr) {
			t.Fatalf("%x (slow %v): ours %q, %v; x/text %q, %v", data, slow, got, gerr, want, werr)
		}
	}
}

func TestGB18030DecoderMatchesXText(t *testing.T) {
	text := "6228480010000001,ABC1,2026-01-01,D,1.00,payroll,天水市秦州区住房保障中心,王建国 €😀\n"
	gb, err := simplifiedchinese.GB18030.NewEncoder().Bytes([]byte(strings.Repeat(text, 2000)))
	if err != nil {
		t.Fatal(err)
	}
	checkGB18030(t, gb)
	rng := rand.New(rand.NewSource(3))
	for range 3000 {
		b := make([]byte, rng.Intn(24))
		for i := range b {
			switch rng.Intn(4) {
			case 0:
				b[i] = byte(0x30 + rng.Intn(10))
			case 1:
				b[i] = byte(0x40 + rng.Intn(0x40))
			default:
				b[i] = byte(0x80 + rng.Intn(0x80))
			}
		}
		checkGB18030(t, b)
	}
}

func FuzzGB18030Decoder(f *testing.F) {
	f.Add([]byte("a\x81\x30\x81\x30b\xcd\xf5\xbd\xa8\xb9\xfa\x80\xff"))
	f.Fuzz(func(t *testing.T, data []byte) { checkGB18030(t, data) })
}

func TestTrimSpaceMatchesBytes(t *testing.T) {
	parts := []string{" ", "\t", "\u3000", "\u00a0", "\u0085", "a", "王", "\xff", "\xe3\x80", ",", "\r\n"}
	rng := rand.New(rand.NewSource(5))
	for range 20000 {
		var b []byte
		for n := rng.Intn(6); n > 0; n-- {
			b = append(b, parts[rng.Intn(len(parts))]...)
		}
		i, j := trimBounds(b)
		if got, want := b[i:j], bytes.TrimSpace(b); !bytes.Equal(got, want) {
			t.Fatalf("trimBounds(%q) gives %q, want %q", b, got, want)
		}
	}
}
