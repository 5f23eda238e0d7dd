// Package stacktest gives integration tests the local AWS stack: EnsureLocal
// installs and starts it when it is not running (infra/stack.sh, serialized
// by a lock so that parallel test binaries can all ask) and returns an
// aws.Config for it. It never stops the stack: `make test` does, at the end.
package stacktest

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

// EnsureLocal makes sure the local stack answers and returns a config for
// it: credentials "local", AWS_REGION or us-east-1, checksums only when
// required (the local S3 does not read aws-chunked trailers). Endpoints are
// not in the config: stack.Resources points each client at its service.
func EnsureLocal(tb testing.TB) aws.Config {
	tb.Helper()
	if !healthy() {
		root, err := repoRoot()
		if err != nil {
			tb.Fatal(err)
		}
		for _, step := range []string{"install", "start"} {
			cmd := exec.Command(filepath.Join(root, "infra", "stack.sh"), step)
			cmd.Dir = root
			out, err := cmd.CombinedOutput()
			if err != nil {
				tb.Fatalf("infra/stack.sh %s: %v\n%s", step, err, out)
			}
		}
		if !healthy() {
			tb.Fatal("the local stack started but does not answer (see .local/log/)")
		}
	}
	region := os.Getenv("AWS_REGION")
	if region == "" {
		region = "us-east-1"
	}
	cfg, err := config.LoadDefaultConfig(context.Background(),
		config.WithRegion(region),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("local", "local", "")),
		config.WithRequestChecksumCalculation(aws.RequestChecksumCalculationWhenRequired),
		config.WithResponseChecksumValidation(aws.ResponseChecksumValidationWhenRequired),
	)
	if err != nil {
		tb.Fatalf("local aws config: %v", err)
	}
	return cfg
}

func port(env, def string) string {
	if v := os.Getenv(env); v != "" {
		return v
	}
	return def
}

// healthy reports whether all three services answer on their ports.
func healthy() bool {
	c := &http.Client{Timeout: 2 * time.Second}
	for _, u := range []string{
		"http://127.0.0.1:" + port("WW_DDB_PORT", "18000") + "/",
		"http://127.0.0.1:" + port("WW_SQS_PORT", "18001") + "/health",
		"http://127.0.0.1:" + port("WW_S3_PORT", "18002") + "/_health",
	} {
		resp, err := c.Get(u)
		if err != nil {
			return false
		}
		resp.Body.Close()
	}
	return true
}

func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("find repository root: %w", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "infra", "stack.sh")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("find repository root: no infra/stack.sh above %s", dir)
		}
		dir = parent
	}
}
