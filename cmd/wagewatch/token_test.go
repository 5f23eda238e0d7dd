package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/wagewatch/wagewatch/shared/registry"
	"github.com/wagewatch/wagewatch/shared/stack"
	"github.com/wagewatch/wagewatch/shared/stack/stacktest"
	"github.com/wagewatch/wagewatch/shared/store"
)

func TestNewDeptToken(t *testing.T) {
	zero, err := newDeptToken(bytes.NewReader(make([]byte, 32)))
	if err != nil {
		t.Fatal(err)
	}
	// 256 zero bits are 43 base64url digits "A", unpadded.
	if want := "wwd_" + strings.Repeat("A", 43); zero != want {
		t.Errorf("token %q, want %q", zero, want)
	}
	seq := make([]byte, 32)
	for i := range seq {
		seq[i] = byte(i * 37)
	}
	got, err := newDeptToken(bytes.NewReader(seq))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(got, tokenPrefix))
	if err != nil || !bytes.Equal(raw, seq) {
		t.Errorf("token %q decodes to %x (%v), want %x", got, raw, err, seq)
	}
	if _, err := newDeptToken(bytes.NewReader(seq[:31])); err == nil {
		t.Error("a short random source gave a token")
	}
}

// tokenStack provisions the template's tables in the local stack and
// returns a store over them and the Registry table's name.
func tokenStack(t *testing.T) (*store.Store, string, *stack.Resources) {
	t.Helper()
	cfg := stacktest.EnsureLocal(t)
	tpl, err := stack.LoadTemplate(filepath.Join("..", "..", "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	ns := stack.NewNamespace()
	res, err := stack.Provision(t.Context(), cfg, tpl, ns, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := stack.Teardown(context.Background(), cfg, ns); err != nil {
			t.Errorf("teardown: %v", err)
		}
	})
	table := res.Tables["RegistryTable"]
	db := dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) { o.BaseEndpoint = aws.String(res.Endpoints.DynamoDB) })
	st := store.New(db, store.Tables{Registry: table}, time.Now)
	if _, err := st.PutDepartment(t.Context(), registry.Department{ID: "qz-gov", Name: "秦州区治欠办", Level: registry.County, CountyCode: "620502", Sector: registry.Gov}); err != nil {
		t.Fatal(err)
	}
	return st, table, res
}

// registryEnv points the commands at the local Registry table, as an
// operator's environment points them at the deployed one.
func registryEnv(t *testing.T, table string, res *stack.Resources) {
	t.Setenv("WW_REGISTRY_TABLE", table)
	t.Setenv("AWS_ENDPOINT_URL_DYNAMODB", res.Endpoints.DynamoDB)
	t.Setenv("AWS_ACCESS_KEY_ID", "local")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "local")
	t.Setenv("AWS_REGION", res.Region)
}

func TestDeptTokenLocal(t *testing.T) {
	st, table, res := tokenStack(t)
	ctx := t.Context()

	t.Run("issue", func(t *testing.T) {
		token, err := issueDeptToken(ctx, st, bytes.NewReader(bytes.Repeat([]byte{1}, 32)), "qz-gov", true)
		if err != nil {
			t.Fatal(err)
		}
		if dept, ok, err := st.DeptOfToken(ctx, token); err != nil || !ok || dept != "qz-gov" {
			t.Errorf("DeptOfToken = %q, %v, %v; want qz-gov", dept, ok, err)
		}
		if _, ok, err := st.DeptOfToken(ctx, token+"x"); err != nil || ok {
			t.Errorf("another token found a department (%v)", err)
		}
		if _, err := issueDeptToken(ctx, st, bytes.NewReader(bytes.Repeat([]byte{1}, 32)), "qz-gov", true); err == nil {
			t.Error("the same token was stored twice")
		}
	})

	t.Run("unknown department", func(t *testing.T) {
		seq := bytes.Repeat([]byte{2}, 32)
		if _, err := issueDeptToken(ctx, st, bytes.NewReader(seq), "nobody", true); err == nil || !strings.Contains(err.Error(), "not registered") {
			t.Fatalf("error %v, want not registered", err)
		}
		token, _ := newDeptToken(bytes.NewReader(seq))
		if _, ok, _ := st.DeptOfToken(ctx, token); ok {
			t.Error("a refused token was stored")
		}
		if _, err := issueDeptToken(ctx, st, bytes.NewReader(seq), "nobody", false); err != nil {
			t.Errorf("unchecked: %v", err)
		}
	})

	t.Run("command", func(t *testing.T) {
		registryEnv(t, table, res)
		var stdout, stderr bytes.Buffer
		if code := dispatch(ctx, []string{"dept", "token", "qz-gov"}, &stdout, &stderr); code != 0 {
			t.Fatalf("exit %d: %s", code, stderr.String())
		}
		token := strings.TrimSpace(stdout.String())
		if !strings.HasPrefix(token, tokenPrefix) || len(token) != len(tokenPrefix)+43 || strings.Contains(token, "\n") {
			t.Errorf("stdout %q: want one token", stdout.String())
		}
		if strings.Contains(stderr.String(), token) {
			t.Error("the token was also written to stderr")
		}
		if dept, ok, err := st.DeptOfToken(ctx, token); err != nil || !ok || dept != "qz-gov" {
			t.Errorf("DeptOfToken(printed token) = %q, %v, %v; want qz-gov", dept, ok, err)
		}
		for _, args := range [][]string{{"dept", "token"}, {"dept", "token", "a", "b"}, {"dept", "token", "-bogus", "a"}} {
			stdout.Reset()
			if code := dispatch(ctx, args, &stdout, &stderr); code != 2 || stdout.Len() != 0 {
				t.Errorf("%v: exit %d, stdout %q; want usage (2) and nothing printed", args, code, stdout.String())
			}
		}
		if code := dispatch(ctx, []string{"dept", "token", "nobody"}, &stdout, &stderr); code != 1 || stdout.Len() != 0 {
			t.Errorf("unknown department: exit %d, stdout %q; want 1 and nothing printed", code, stdout.String())
		}
	})

	t.Run("list and revoke", func(t *testing.T) {
		registryEnv(t, table, res)
		run := func(args ...string) (int, string, string) {
			var stdout, stderr bytes.Buffer
			code := dispatch(ctx, args, &stdout, &stderr)
			return code, stdout.String(), stderr.String()
		}
		var tokens []string
		for range 3 {
			code, out, errs := run("dept", "token", "-unchecked", "rv-dept")
			if code != 0 {
				t.Fatalf("issue: exit %d: %s", code, errs)
			}
			tok := strings.TrimSpace(out)
			if !strings.Contains(errs, "id "+store.TokenID(tok)) {
				t.Errorf("issue: stderr %q does not name the token id %s", errs, store.TokenID(tok))
			}
			tokens = append(tokens, tok)
		}
		code, out, _ := run("dept", "tokens", "rv-dept")
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if code != 0 || len(lines) != 3 {
			t.Fatalf("tokens: exit %d, %q; want 3 lines", code, out)
		}
		for i, l := range lines {
			if !strings.HasPrefix(l, store.TokenID(tokens[i])+"  created ") || !strings.HasSuffix(l, "  valid") {
				t.Errorf("tokens line %d %q, want token %s valid", i, l, store.TokenID(tokens[i]))
			}
			for _, tok := range tokens {
				if strings.Contains(l, tok) {
					t.Errorf("tokens line %d shows a token", i)
				}
			}
		}

		if code, out, errs := run("dept", "revoke", "rv-dept", store.TokenID(tokens[1])); code != 0 || out != "revoked "+store.TokenID(tokens[1])+" of rv-dept\n" {
			t.Errorf("revoke one: exit %d, %q, %s", code, out, errs)
		}
		for i, want := range []bool{true, false, true} {
			if _, ok, err := st.DeptOfToken(ctx, tokens[i]); err != nil || ok != want {
				t.Errorf("after revoking token 1: token %d valid = %v (%v), want %v", i, ok, err, want)
			}
		}
		if code, out, errs := run("dept", "revoke", "rv-dept", store.TokenID(tokens[1])); code != 0 || out != "" || !strings.Contains(errs, "revoked already") {
			t.Errorf("revoke again: exit %d, %q, %s; want 0, nothing revoked, revoked already", code, out, errs)
		}
		if code, _, errs := run("dept", "revoke", "rv-dept", "000000000000"); code != 1 || !strings.Contains(errs, "not found") {
			t.Errorf("revoke unknown id: exit %d, %s; want 1, not found", code, errs)
		}
		// Another department's token id revokes nothing.
		if code, _, _ := run("dept", "revoke", "qz-gov", store.TokenID(tokens[0])); code != 1 {
			t.Errorf("revoke through another department: exit %d, want 1", code)
		}
		if _, ok, _ := st.DeptOfToken(ctx, tokens[0]); !ok {
			t.Error("another department revoked rv-dept's token")
		}

		code, out, errs := run("dept", "revoke", "-all", "rv-dept")
		if want := "revoked " + store.TokenID(tokens[0]) + " of rv-dept\nrevoked " + store.TokenID(tokens[2]) + " of rv-dept\n"; code != 0 || out != want {
			t.Errorf("revoke -all: exit %d, %q (%s), want %q", code, out, errs, want)
		}
		for i, tok := range tokens {
			if _, ok, _ := st.DeptOfToken(ctx, tok); ok {
				t.Errorf("token %d still valid after revoke -all", i)
			}
		}
		if code, out, errs := run("dept", "revoke", "-all", "rv-dept"); code != 0 || out != "" || !strings.Contains(errs, "no valid token") {
			t.Errorf("revoke -all again: exit %d, %q, %s; want 0, nothing revoked, no valid token", code, out, errs)
		}
		_, out, _ = run("dept", "tokens", "rv-dept")
		if n := strings.Count(out, "  revoked "); n != 3 {
			t.Errorf("tokens after revoke -all: %q, want 3 revoked", out)
		}
		for _, args := range [][]string{{"dept", "revoke", "rv-dept"}, {"dept", "revoke", "-all"}, {"dept", "revoke", "-all", "a", "b"}, {"dept", "tokens"}} {
			if code, out, _ := run(args...); code != 2 || out != "" {
				t.Errorf("%v: exit %d, stdout %q; want usage (2)", args, code, out)
			}
		}
	})
}
