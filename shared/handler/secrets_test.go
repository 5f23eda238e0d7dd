package handler

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestNotifySecrets(t *testing.T) {
	now := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	reads := 0
	body := `{"webhooks":{"qz-gov":"s1"},"sms_gateway":{"key_id":"k","secret":"g"}}`
	fail := false
	s := &notifySecrets{now: func() time.Time { return now }, fetch: func(context.Context) ([]byte, error) {
		reads++
		if fail {
			return nil, errors.New("unavailable")
		}
		return []byte(body), nil
	}}
	got, err := s.webhook("qz-gov")
	if err != nil || string(got) != "s1" {
		t.Fatalf("webhook = %q, %v", got, err)
	}
	if _, err := s.webhook("mj-gov"); !errors.Is(err, errNoSecret) {
		t.Fatalf("unknown department: err = %v", err)
	}
	if reads != 1 {
		t.Fatalf("%d reads within the cache time, want 1", reads)
	}
	// Rotated after the cache time; a failing re-read keeps the old value.
	now = now.Add(secretsCacheTTL)
	body = `{"webhooks":{"qz-gov":"s2"}}`
	if got, _ := s.webhook("qz-gov"); string(got) != "s2" {
		t.Fatalf("after rotation: %q", got)
	}
	now = now.Add(secretsCacheTTL)
	fail = true
	if got, err := s.webhook("qz-gov"); err != nil || string(got) != "s2" {
		t.Fatalf("failed re-read: %q, %v", got, err)
	}
	// Never read: the error comes through.
	empty := &notifySecrets{now: time.Now, fetch: func(context.Context) ([]byte, error) { return nil, errors.New("denied") }}
	if _, err := empty.webhook("x"); err == nil {
		t.Fatal("want the fetch error")
	}
	bad := &notifySecrets{now: time.Now, fetch: func(context.Context) ([]byte, error) { return []byte(`{"webhooks":`), nil }}
	if _, err := bad.webhook("x"); err == nil {
		t.Fatal("want a decode error")
	}
}
