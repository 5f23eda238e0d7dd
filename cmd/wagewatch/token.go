package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/wagewatch/wagewatch/shared/awsconf"
	"github.com/wagewatch/wagewatch/shared/registry"
	"github.com/wagewatch/wagewatch/shared/stack"
	"github.com/wagewatch/wagewatch/shared/store"
)

func init() {
	register("dept token", command{
		summary: "create a department's API token, store its hash, print it once",
		run:     runDeptToken,
	})
	register("dept tokens", command{
		summary: "list a department's API tokens (ids, created, revoked)",
		run:     runDeptTokens,
	})
	register("dept revoke", command{
		summary: "revoke one API token of a department by its id, or all of them",
		run:     runDeptRevoke,
	})
}

// tokenStore is what issuing a token needs of the store.
type tokenStore interface {
	Departments(ctx context.Context) ([]registry.Department, error)
	PutDeptToken(ctx context.Context, deptID, token string) error
}

// tokenPrefix marks wagewatch department tokens (so that a leaked one is
// recognisable by secret scanners).
const tokenPrefix = "wwd_"

// newDeptToken returns a fresh token: the prefix and 32 random bytes,
// base64url without padding.
func newDeptToken(r io.Reader) (string, error) {
	b := make([]byte, 32)
	if _, err := io.ReadFull(r, b); err != nil {
		return "", fmt.Errorf("generate token: %w", err)
	}
	return tokenPrefix + base64.RawURLEncoding.EncodeToString(b), nil
}

// runDeptToken implements "wagewatch dept token [-unchecked] DEPT_ID": it
// creates a random token for the department, stores its SHA-256 hash in the
// Registry table and prints the token once on stdout (it cannot be shown
// again). The Registry table is WW_REGISTRY_TABLE, reached through the
// standard AWS environment (AWS_ENDPOINT_URL_DYNAMODB locally); without
// WW_REGISTRY_TABLE, the local stack's last provisioned resources
// (.local/resources.json). The department must be registered unless
// -unchecked is given.
func runDeptToken(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("dept token", flag.ContinueOnError)
	fs.SetOutput(stderr)
	unchecked := fs.Bool("unchecked", false, "do not require the department to be registered")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: wagewatch dept token [-unchecked] DEPT_ID")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() != 1 || fs.Arg(0) == "" {
		fs.Usage()
		return 2
	}
	st, where, err := registryStore(ctx)
	if err != nil {
		fmt.Fprintln(stderr, "wagewatch dept token:", err)
		return 1
	}
	token, err := issueDeptToken(ctx, st, rand.Reader, fs.Arg(0), !*unchecked)
	if err != nil {
		fmt.Fprintln(stderr, "wagewatch dept token:", err)
		return 1
	}
	fmt.Fprintf(stderr, "stored the hash of a new token (id %s) for %s in %s; the token is shown once:\n",
		store.TokenID(token), fs.Arg(0), where)
	fmt.Fprintln(stdout, token)
	return 0
}

// issueDeptToken creates and stores a token for dept. With check, dept
// must be a registered department.
func issueDeptToken(ctx context.Context, st tokenStore, r io.Reader, dept string, check bool) (string, error) {
	if check {
		depts, err := st.Departments(ctx)
		if err != nil {
			return "", err
		}
		if !slices.ContainsFunc(depts, func(d registry.Department) bool { return d.ID == dept }) {
			return "", fmt.Errorf("department %q is not registered (import departments.csv first, or pass -unchecked)", dept)
		}
	}
	token, err := newDeptToken(r)
	if err != nil {
		return "", err
	}
	if err := st.PutDeptToken(ctx, dept, token); err != nil {
		return "", err
	}
	return token, nil
}

// runDeptTokens implements "wagewatch dept tokens DEPT_ID": one line per
// token of the department, oldest first: id, created, and revoked or valid.
func runDeptTokens(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) != 1 || args[0] == "" || strings.HasPrefix(args[0], "-") {
		fmt.Fprintln(stderr, "usage: wagewatch dept tokens DEPT_ID")
		return 2
	}
	st, _, err := registryStore(ctx)
	if err != nil {
		fmt.Fprintln(stderr, "wagewatch dept tokens:", err)
		return 1
	}
	tokens, err := st.DeptTokens(ctx, args[0])
	if err != nil {
		fmt.Fprintln(stderr, "wagewatch dept tokens:", err)
		return 1
	}
	if len(tokens) == 0 {
		fmt.Fprintf(stderr, "wagewatch dept tokens: %s has no tokens\n", args[0])
	}
	for _, t := range tokens {
		state := "valid"
		if t.RevokedAt != nil {
			state = "revoked " + t.RevokedAt.Format(time.RFC3339)
		}
		fmt.Fprintf(stdout, "%s  created %s  %s\n", t.ID, t.CreatedAt.Format(time.RFC3339), state)
	}
	return 0
}

// runDeptRevoke implements "wagewatch dept revoke DEPT_ID TOKEN_ID|-all":
// the token stops authenticating at once (dept-api looks it up on every
// request); its record stays, marked revoked.
func runDeptRevoke(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("dept revoke", flag.ContinueOnError)
	fs.SetOutput(stderr)
	all := fs.Bool("all", false, "revoke every valid token of the department")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: wagewatch dept revoke DEPT_ID TOKEN_ID   or   wagewatch dept revoke -all DEPT_ID")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	want := 2
	if *all {
		want = 1
	}
	if fs.NArg() != want || fs.Arg(0) == "" || (!*all && fs.Arg(1) == "") {
		fs.Usage()
		return 2
	}
	st, _, err := registryStore(ctx)
	if err != nil {
		fmt.Fprintln(stderr, "wagewatch dept revoke:", err)
		return 1
	}
	revoked, err := st.RevokeDeptToken(ctx, fs.Arg(0), fs.Arg(1))
	for _, t := range revoked {
		fmt.Fprintf(stdout, "revoked %s of %s\n", t.ID, t.DeptID)
	}
	if err != nil {
		fmt.Fprintln(stderr, "wagewatch dept revoke:", err)
		return 1
	}
	if len(revoked) == 0 && *all {
		fmt.Fprintf(stderr, "wagewatch dept revoke: nothing to revoke: %s has no valid token\n", fs.Arg(0))
	} else if len(revoked) == 0 {
		fmt.Fprintf(stderr, "wagewatch dept revoke: nothing to revoke: token %s of %s is revoked already\n", fs.Arg(1), fs.Arg(0))
	}
	return 0
}

// registryStore returns a store over the Registry table, and says which
// table it is.
func registryStore(ctx context.Context) (*store.Store, string, error) {
	cfg, err := awsconf.Load(ctx)
	if err != nil {
		return nil, "", err
	}
	if table := os.Getenv("WW_REGISTRY_TABLE"); table != "" {
		return store.New(dynamodb.NewFromConfig(cfg), store.Tables{Registry: table}, time.Now), table, nil
	}
	root, err := stack.RepoRoot()
	if err != nil {
		return nil, "", errors.New("set WW_REGISTRY_TABLE, or run in the repository after the local stack is provisioned")
	}
	path := stack.StatePath(root)
	res, err := stack.LoadResources(path, cfg, nil, nil)
	if err != nil {
		return nil, "", fmt.Errorf("set WW_REGISTRY_TABLE, or provision the local stack first: %w", err)
	}
	table := res.Tables["RegistryTable"]
	if table == "" {
		return nil, "", fmt.Errorf("%s names no RegistryTable", filepath.Base(path))
	}
	// The local stack takes any credentials; never send real ones to it.
	cfg.Credentials = credentials.NewStaticCredentialsProvider("local", "local", "")
	if cfg.Region == "" {
		cfg.Region = res.Region
	}
	db := dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) { o.BaseEndpoint = aws.String(res.Endpoints.DynamoDB) })
	return store.New(db, store.Tables{Registry: table}, time.Now), table + " (local stack)", nil
}
