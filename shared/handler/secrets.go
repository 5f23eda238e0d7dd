package handler

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"
)

// notifySecrets holds what notify signs with, read from the wagewatch
// secret of template.yaml (Secrets Manager, WW_SECRETS_ARN):
//
//	{"webhooks": {"<dept_id>": "<secret>", …},
//	 "sms_gateway": {"key_id": "…", "secret": "…"}}
//
// It is read when first needed and again after secretsCacheTTL, so a
// rotated secret takes effect within minutes; a failed re-read keeps what
// was read before.
type notifySecrets struct {
	fetch func(ctx context.Context) ([]byte, error)
	now   func() time.Time

	mu     sync.Mutex
	doc    *notifySecretDoc
	readAt time.Time
}

type notifySecretDoc struct {
	Webhooks   map[string]string `json:"webhooks"`
	SMSGateway struct {
		KeyID  string `json:"key_id"`
		Secret string `json:"secret"`
	} `json:"sms_gateway"`
}

// errNoSecret reports a department without a webhook secret.
var errNoSecret = errors.New("no webhook secret for this department")

func (s *notifySecrets) load(ctx context.Context) (*notifySecretDoc, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.doc != nil && s.now().Sub(s.readAt) < secretsCacheTTL {
		return s.doc, nil
	}
	raw, err := s.fetch(ctx)
	if err == nil {
		var d notifySecretDoc
		if err = json.Unmarshal(raw, &d); err == nil {
			s.doc, s.readAt = &d, s.now()
		} else {
			// encoding/json's error names a character or type, never a value.
			err = fmt.Errorf("notify secrets: %w", err)
		}
	}
	if s.doc == nil {
		return nil, err
	}
	return s.doc, nil
}

// webhook returns the webhook secret of a department.
func (s *notifySecrets) webhook(deptID string) ([]byte, error) {
	d, err := s.load(context.Background())
	if err != nil {
		return nil, err
	}
	v := d.Webhooks[deptID]
	if v == "" {
		return nil, fmt.Errorf("department %s: %w", deptID, errNoSecret)
	}
	return []byte(v), nil
}
