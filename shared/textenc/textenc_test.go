package textenc

import (
	"bytes"
	"io"
	"strings"
	"testing"

	"golang.org/x/text/encoding/simplifiedchinese"
)

func TestDetect(t *testing.T) {
	text := "project_id,name\nTS-QZ-001,秦州区廉租房二期\n"
	gb, err := simplifiedchinese.GB18030.NewEncoder().String(text)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		in   []byte
		enc  Encoding
	}{
		{"utf8", []byte(text), UTF8},
		{"utf8 bom", append([]byte("\xEF\xBB\xBF"), text...), UTF8BOM},
		{"gb18030", []byte(gb), GB18030},
		{"ascii", []byte("a,b\n1,2\n"), UTF8},
		{"empty", nil, UTF8},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, enc := Detect(bytes.NewReader(tt.in))
			if enc != tt.enc {
				t.Fatalf("encoding = %s, want %s", enc, tt.enc)
			}
			got, err := io.ReadAll(r)
			if err != nil {
				t.Fatal(err)
			}
			if len(tt.in) > 0 && tt.name != "ascii" && string(got) != text {
				t.Fatalf("decoded %q, want %q", got, text)
			}
		})
	}
}

func TestDetectRuneCutAtWindow(t *testing.T) {
	// A valid UTF-8 file whose sniff window ends inside a rune is UTF-8.
	pad := strings.Repeat("a", SniffSize-1)
	in := pad + "秦" + "\n"
	_, enc := Detect(strings.NewReader(in))
	if enc != UTF8 {
		t.Fatalf("encoding = %s, want utf-8", enc)
	}
}
