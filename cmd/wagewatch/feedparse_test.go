package main

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var updateFeedParse = flag.Bool("update-feedparse", false, "rewrite testdata/feedparse golden files")

func TestFeedParse(t *testing.T) {
	feedData := filepath.Join("..", "..", "shared", "feed", "testdata")
	cases := []struct {
		name  string
		files []string
		code  int
	}{
		{"example_csv", []string{"csv/example_bom.csv"}, 0},
		{"example_camt", []string{"camt/example_v02.xml"}, 0},
		{"example_mt940", []string{"mt940/example_wrapped86.sta"}, 0},
		{"rejects", []string{"csv/bad_rows.csv", "camt/batch_v08.xml", "mt940/truncated.sta"}, 0},
		{"unreadable", []string{"csv/return_fee.csv", "does-not-exist.csv"}, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			args := []string{"feed", "parse"}
			for _, f := range c.files {
				args = append(args, filepath.ToSlash(filepath.Join(feedData, f)))
			}
			var stdout, stderr bytes.Buffer
			code := dispatch(context.Background(), args, &stdout, &stderr)
			if code != c.code {
				t.Errorf("exit code %d, want %d (stderr %s)", code, c.code, stderr.String())
			}
			got := "== stdout\n" + stdout.String() + "== stderr\n" + stderr.String()
			golden := filepath.Join("testdata", "feedparse", c.name+".golden")
			if *updateFeedParse {
				if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update-feedparse)", err)
			}
			if got != string(want) {
				t.Errorf("output differs from %s:\n%s", golden, got)
			}
			if c.code == 0 && strings.Count(stdout.String(), "\n") == 0 {
				t.Error("no JSON lines printed")
			}
		})
	}
}
