package stack

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wagewatch/wagewatch/shared/stack/stacktest"
)

// rieVersion is the AWS Lambda Runtime Interface Emulator the smoke test
// runs under (`make tools` installs it into .local/bin; the test installs
// it itself when it is missing).
const rieVersion = "v0.0.0-20261030222936-bef5c4ba774d"

// smokeFunctions are tried in order; the first whose main.go starts a real
// handler is the one the smoke test runs (placeholders are skipped over, not
// the test).
var smokeFunctions = []string{"scan", "escalate", "evaluate", "record-entries", "ingest-feed", "import-registry"}

func ensureRIE(t *testing.T, root string) string {
	t.Helper()
	bin := filepath.Join(root, ".local", "bin", "aws-lambda-rie")
	if _, err := os.Stat(bin); err == nil {
		return bin
	}
	cmd := exec.Command("go", "install", "github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie@"+rieVersion)
	cmd.Env = append(os.Environ(), "GOBIN="+filepath.Dir(bin))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("install aws-lambda-rie: %v\n%s", err, out)
	}
	return bin
}

func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// TestRIESmoke builds a function for the host, runs it under aws-lambda-rie
// with its environment against the local stack, and invokes it with its
// events/ sample over HTTP, one call at a time (RIE crashes on concurrent
// invocations). RIE reports a handler error as HTTP 200 with errorMessage in
// the body, so the payload is checked.
func TestRIESmoke(t *testing.T) {
	root, err := RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	fn := ""
	for _, name := range smokeFunctions {
		src, err := os.ReadFile(filepath.Join(root, "functions", name, "main.go"))
		if err == nil && bytes.Contains(src, []byte("lambda.Start")) {
			fn = name
			break
		}
	}
	if fn == "" {
		t.Fatalf("none of %v has a main.go that starts a handler", smokeFunctions)
	}
	t.Logf("smoke-testing functions/%s", fn)
	rie := ensureRIE(t, root)

	dir := t.TempDir()
	bootstrap := filepath.Join(dir, "bootstrap")
	build := exec.Command("go", "build", "-tags", "lambda.norpc", "-o", bootstrap, "./functions/"+fn)
	build.Dir = root
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build functions/%s: %v\n%s", fn, err, out)
	}

	cfg := stacktest.EnsureLocal(t)
	res, err := Provision(context.Background(), cfg, loadModel(t), NewNamespace(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = Teardown(context.Background(), cfg, res.Namespace) })
	env, err := res.EnvFor(fn)
	if err != nil {
		t.Fatal(err)
	}

	addr, apiAddr := freePort(t), freePort(t)
	cmd := exec.Command(rie, "--runtime-interface-emulator-address", addr, "--runtime-api-address", apiAddr, bootstrap)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"), "TZ=UTC"}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatalf("start aws-lambda-rie: %v", err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_, _ = cmd.Process.Wait()
		if t.Failed() {
			t.Logf("aws-lambda-rie output:\n%s", logs.String())
		}
	})

	sample, err := os.ReadFile(filepath.Join(root, "events", fn+".json"))
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + addr + "/2015-03-31/functions/function/invocations"
	client := &http.Client{Timeout: 60 * time.Second}
	// Twice, one at a time: a cold and a warm invocation.
	for i := 1; i <= 2; i++ {
		status, body := invokeRIE(t, client, url, sample)
		if status != http.StatusOK {
			t.Fatalf("invocation %d: HTTP %d: %s", i, status, body)
		}
		var payload any
		if err := json.Unmarshal(body, &payload); err != nil {
			t.Fatalf("invocation %d: payload is not JSON: %q", i, body)
		}
		if m, ok := payload.(map[string]any); ok {
			if _, failed := m["errorMessage"]; failed {
				t.Fatalf("invocation %d: handler error: %s", i, body)
			}
		}
		t.Logf("invocation %d answered: %s", i, strings.TrimSpace(string(body)))
	}
}

// invokeRIE posts the event, retrying while RIE is not listening yet.
func invokeRIE(t *testing.T, client *http.Client, url string, event []byte) (int, []byte) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, err := client.Post(url, "application/json", bytes.NewReader(event))
		if err != nil {
			if time.Now().After(deadline) {
				t.Fatalf("invoke: %v", err)
			}
			time.Sleep(100 * time.Millisecond)
			continue
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatal(fmt.Errorf("read invocation response: %w", err))
		}
		return resp.StatusCode, body
	}
}
