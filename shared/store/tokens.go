package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Department API tokens live in the Registry table, hashed:
//
//	pk TOKEN#<sha256 hex of the token>   sk TOKEN   dept_id, token_id, created_at, [revoked_at]
//	gsi1pk DTOKEN#<dept_id>              gsi1sk <created_at>#<token_id>
//
// The token itself is never stored: whoever reads the table cannot use it.
// The token id (the first 12 hex digits of the hash) names a token in lists
// and revocations; it cannot be turned back into the token. A revoked token
// keeps its item, with revoked_at, so that the record of who held which
// token stays.

// ErrTokenExists reports a token whose hash is stored already.
var ErrTokenExists = errors.New("token exists")

// tokenIDLen is how many hex digits of the hash the token id keeps.
const tokenIDLen = 12

func tokenHash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// TokenID returns the public id of a token: the first 12 hex digits of its
// SHA-256 hash.
func TokenID(token string) string { return tokenHash(token)[:tokenIDLen] }

// DeptToken is one stored API token of a department, as lists show it.
type DeptToken struct {
	ID        string
	DeptID    string
	CreatedAt time.Time
	// RevokedAt is when the token was revoked; nil while it is valid.
	RevokedAt *time.Time
	pk        string
}

// PutDeptToken stores the hash of a department's API token. A token stored
// already (for any department) is refused with ErrTokenExists.
func (st *Store) PutDeptToken(ctx context.Context, deptID, token string) error {
	if strings.TrimSpace(deptID) == "" || token == "" {
		return errors.New("put department token: a department and a token are required")
	}
	hash := tokenHash(token)
	id, created := hash[:tokenIDLen], st.now().UTC().Format(sortableTime)
	item := key("TOKEN#"+hash, "TOKEN")
	item["dept_id"] = s(deptID)
	item["token_id"] = s(id)
	item["created_at"] = s(created)
	item["gsi1pk"] = s("DTOKEN#" + deptID)
	item["gsi1sk"] = s(created + "#" + id)
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
// token is unknown or revoked.
func (st *Store) DeptOfToken(ctx context.Context, token string) (string, bool, error) {
	if token == "" {
		return "", false, nil
	}
	item, err := st.get(ctx, st.t.Registry, "TOKEN#"+tokenHash(token), "TOKEN")
	if err != nil {
		// The key holds only the token's hash, so the error is safe to wrap.
		return "", false, fmt.Errorf("look up department token: %w", err)
	}
	if _, revoked := item["revoked_at"]; revoked {
		return "", false, nil
	}
	dept := str(item, "dept_id")
	return dept, item != nil && dept != "", nil
}

// DeptTokens returns the department's tokens, valid and revoked, oldest
// first (the index's sort key begins with created_at). Tokens stored before tokens were indexed by department are not
// listed (they hold no gsi1pk).
func (st *Store) DeptTokens(ctx context.Context, deptID string) ([]DeptToken, error) {
	var out []DeptToken
	err := st.queryIndex(ctx, st.t.Registry, "gsi1", "DTOKEN#"+deptID, func(it map[string]types.AttributeValue) error {
		t := DeptToken{ID: str(it, "token_id"), DeptID: str(it, "dept_id"), pk: str(it, "pk")}
		var err error
		if t.CreatedAt, err = time.Parse(sortableTime, str(it, "created_at")); err != nil {
			return fmt.Errorf("token %s of %s: created_at: %w", t.ID, deptID, err)
		}
		if v := str(it, "revoked_at"); v != "" {
			at, err := time.Parse(sortableTime, v)
			if err != nil {
				return fmt.Errorf("token %s of %s: revoked_at: %w", t.ID, deptID, err)
			}
			t.RevokedAt = &at
		}
		out = append(out, t)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("tokens of department %s: %w", deptID, err)
	}
	return out, nil
}

// RevokeDeptToken revokes the department's token of the given id, or every
// valid token of the department when tokenID is "". It returns the tokens it
// revoked now; a token revoked already is left as it was. A tokenID that
// names none of the department's tokens is ErrNotFound.
func (st *Store) RevokeDeptToken(ctx context.Context, deptID, tokenID string) ([]DeptToken, error) {
	tokens, err := st.DeptTokens(ctx, deptID)
	if err != nil {
		return nil, err
	}
	var revoked []DeptToken
	found := false
	for _, t := range tokens {
		if tokenID != "" && t.ID != tokenID {
			continue
		}
		found = true
		if t.RevokedAt != nil {
			continue
		}
		at := st.now().UTC()
		out, err := st.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName:                 aws.String(st.t.Registry),
			Key:                       key(t.pk, "TOKEN"),
			UpdateExpression:          aws.String("SET revoked_at = :at"),
			ConditionExpression:       aws.String("dept_id = :d AND attribute_not_exists(revoked_at)"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":at": s(at.Format(sortableTime)), ":d": s(deptID)},
			ReturnConsumedCapacity:    st.capacityMode(),
		})
		if isConditionFailed(err) {
			continue // revoked meanwhile
		}
		if err != nil {
			return revoked, fmt.Errorf("revoke token %s of department %s: %w", t.ID, deptID, err)
		}
		st.consumed(out.ConsumedCapacity)
		t.RevokedAt = &at
		revoked = append(revoked, t)
	}
	if tokenID != "" && !found {
		return nil, fmt.Errorf("token %s of department %s: %w", tokenID, deptID, ErrNotFound)
	}
	return revoked, nil
}
