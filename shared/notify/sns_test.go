package notify

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sns"
)

// snsRecorder stands in for SNS (no emulator sends SMS): it records the form
// the real SDK posts and answers with the status and XML body given.
type snsRecorder struct {
	mu     sync.Mutex
	forms  []url.Values
	auth   []string
	status int
	body   string
}

func (s *snsRecorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	form, err := url.ParseQuery(string(b))
	if err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	s.forms = append(s.forms, form)
	s.auth = append(s.auth, r.Header.Get("Authorization"))
	s.mu.Unlock()
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(s.status)
	io.WriteString(w, s.body)
}

const snsPublishOK = `<PublishResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><PublishResult><MessageId>5f1c2f3e-0000-0000-0000-000000000001</MessageId></PublishResult><ResponseMetadata><RequestId>req-1</RequestId></ResponseMetadata></PublishResponse>`

func snsError(typ, code string) string {
	return `<ErrorResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><Error><Type>` + typ + `</Type><Code>` + code + `</Code><Message>refused</Message></Error><RequestId>req-2</RequestId></ErrorResponse>`
}

func newSNSClient(srv *httptest.Server) *sns.Client {
	return sns.New(sns.Options{
		Region:           "cn-northwest-1",
		BaseEndpoint:     aws.String(srv.URL),
		Credentials:      credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG", ""),
		HTTPClient:       srv.Client(),
		RetryMaxAttempts: 1,
	})
}

func TestSNSSenderPublish(t *testing.T) {
	rec := &snsRecorder{status: http.StatusOK, body: snsPublishOK}
	srv := httptest.NewServer(rec)
	defer srv.Close()
	s := NewSNSSender(newSNSClient(srv))
	d := sampleDelivery()
	text := SMSText(d)
	for _, phone := range []string{"13800000002", "+8613800000013"} {
		retry, err := s.SendSMS(context.Background(), phone, text, d)
		if err != nil || retry {
			t.Fatalf("SendSMS(%s) = %v, %v", phone, retry, err)
		}
	}
	if len(rec.forms) != 2 {
		t.Fatalf("SNS received %d requests, want 2", len(rec.forms))
	}
	for i, want := range []string{"+8613800000002", "+8613800000013"} {
		f := rec.forms[i]
		checks := map[string]string{
			"Action":                         "Publish",
			"PhoneNumber":                    want,
			"Message":                        text,
			"MessageAttributes.entry.1.Name": "AWS.SNS.SMS.SMSType",
			"MessageAttributes.entry.1.Value.DataType":    "String",
			"MessageAttributes.entry.1.Value.StringValue": "Transactional",
		}
		for k, v := range checks {
			if got := f.Get(k); got != v {
				t.Errorf("request %d: %s = %q, want %q (form %v)", i, k, got, v, f)
			}
		}
		if a := rec.auth[i]; !strings.HasPrefix(a, "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/") || !strings.Contains(a, "/cn-northwest-1/sns/aws4_request") {
			t.Errorf("request %d is not SigV4-signed for sns: %q", i, a)
		}
		if f.Get("TopicArn") != "" || f.Get("TargetArn") != "" {
			t.Errorf("request %d publishes to a topic: %v", i, f)
		}
	}
}

func TestSNSSenderErrors(t *testing.T) {
	tests := []struct {
		name      string
		status    int
		body      string
		phone     string
		retryable bool
		requests  int
	}{
		{"invalid parameter is final", http.StatusBadRequest, snsError("Sender", "InvalidParameter"), "13800000002", false, 1},
		{"opted out is final", http.StatusBadRequest, snsError("Sender", "OptedOut"), "13800000002", false, 1},
		{"throttling is retryable", http.StatusBadRequest, snsError("Sender", "Throttling"), "13800000002", true, 1},
		{"internal error is retryable", http.StatusInternalServerError, snsError("Receiver", "InternalError"), "13800000002", true, 1},
		{"bad number is final and not sent", http.StatusOK, snsPublishOK, "12345", false, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := &snsRecorder{status: tc.status, body: tc.body}
			srv := httptest.NewServer(rec)
			defer srv.Close()
			retry, err := NewSNSSender(newSNSClient(srv)).SendSMS(context.Background(), tc.phone, "text", sampleDelivery())
			if err == nil {
				t.Fatal("no error")
			}
			if retry != tc.retryable {
				t.Errorf("retryable = %v, want %v (err %v)", retry, tc.retryable, err)
			}
			if len(rec.forms) != tc.requests {
				t.Errorf("%d requests, want %d", len(rec.forms), tc.requests)
			}
			if strings.Contains(err.Error(), "13800000002") {
				t.Errorf("error shows the whole phone number: %v", err)
			}
		})
	}
}

func TestSNSSenderConnectionError(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	client := newSNSClient(srv)
	srv.Close()
	d0 := sampleDelivery().ID
	retry, err := NewSNSSender(client).SendSMS(context.Background(), "13800000002", "text", sampleDelivery())
	if err == nil || !retry {
		t.Errorf("closed endpoint: retry %v, err %v; want a retryable error", retry, err)
	}
	if !strings.Contains(err.Error(), d0) {
		t.Errorf("error does not name the delivery: %v", err)
	}
}
