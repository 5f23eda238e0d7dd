package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// Department API tokens live in the Registry table, hashed:
//
//	pk TOKEN#<sha256 hex of the token>   sk TOKEN   dept_id
//
// The token itself is never stored: whoever reads the table cannot use it.

// ErrTokenExists reports a token whose hash is stored already.
var ErrTokenExists = errors.New("token exists")

func tokenKey(token string) (pk, sk string) {
	sum := sha256.Sum256([]byte(token))
	return "TOKEN#" + hex.EncodeToString(sum[:]), "TOKEN"
}

// PutDeptToken stores the hash of a department's API token. A token stored
// already (for any department) is refused with ErrTokenExists.
func (st *Store) PutDeptToken(ctx context.Context, deptID, token string) error {
	if strings.TrimSpace(deptID) == "" || token == "" {
		return errors.New("put department token: a department and a token are required")
	}
	pk, sk := tokenKey(token)
	item := key(pk, sk)
	item["dept_id"] = s(deptID)
	item["created_at"] = s(st.now().UTC().Format("2006-01-02T15:04:05Z"))
	ok, err := st.putNew(ctx, st.t.Registry, item)
	if err != nil {
		return fmt.Errorf("put token of department %s: %w", deptID, err)
	}
	if !ok {
		return fmt.Errorf("put token of department %s: %w", deptID, ErrTokenExists)
	}
	return nil
}

// DeptOfToken returns the department a token belongs to, and false when the
// token is unknown.
func (st *Store) DeptOfToken(ctx context.Context, token string) (string, bool, error) {
	if token == "" {
		return "", false, nil
	}
	pk, sk := tokenKey(token)
	item, err := st.get(ctx, st.t.Registry, pk, sk)
	if err != nil {
		// The key holds only the token's hash, so the error is safe to wrap.
		return "", false, fmt.Errorf("look up department token: %w", err)
	}
	dept := str(item, "dept_id")
	return dept, item != nil && dept != "", nil
}
