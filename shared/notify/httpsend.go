package notify

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// userAgent is sent with every webhook and gateway request.
const userAgent = "wagewatch-notify/1"

// maxErrBody bounds how much of a failed response's body is read (and then
// discarded: bodies are not copied into errors, which may be logged).
const maxErrBody = 64 << 10

// StatusRetryable classifies an HTTP status of a failed delivery: 4xx other
// than 408 (request timeout) and 429 (too many requests) will fail again and
// is final; anything else that is not 2xx (5xx, 408, 429, an unfollowed 3xx)
// may succeed later.
func StatusRetryable(code int) bool {
	if code >= 400 && code < 500 {
		return code == http.StatusRequestTimeout || code == http.StatusTooManyRequests
	}
	return true
}

// RedactURL returns raw without its user info, query string and fragment, so
// that tokens carried in a URL never reach an error or a log:
// "https://h.example/hook?token=s3cret" → "https://h.example/hook?<redacted>".
// Text that does not parse as a URL is redacted whole.
func RedactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "<redacted>"
	}
	out := u.Scheme + "://" + u.Host + u.EscapedPath()
	if u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || u.User != nil {
		out += "?<redacted>"
	}
	return out
}

// RedactError returns err with every mention of the URL raw replaced by
// RedactURL(raw), and with the query string, the user info and each of the
// secrets (e.g. a signing key) removed from its text. An *url.Error stays an
// *url.Error, so that Timeout() still answers.
func RedactError(err error, raw string, secrets ...string) error {
	if err == nil {
		return nil
	}
	safe := RedactURL(raw)
	var ue *url.Error
	if errors.As(err, &ue) && err == error(ue) {
		// ue.URL may be raw or the target of a redirect.
		err = &url.Error{Op: ue.Op, URL: RedactURL(ue.URL), Err: ue.Err}
	}
	msg := err.Error()
	clean := scrub(msg, raw, safe, secrets)
	if clean == msg {
		return err
	}
	return &redactedError{msg: clean, timeout: isTimeout(err)}
}

func scrub(msg, raw, safe string, secrets []string) string {
	msg = strings.ReplaceAll(msg, raw, safe)
	if u, perr := url.Parse(raw); perr == nil {
		if u.RawQuery != "" {
			msg = strings.ReplaceAll(msg, u.RawQuery, "<redacted>")
		}
		if u.User != nil {
			msg = strings.ReplaceAll(msg, u.User.String(), "<redacted>")
		}
	}
	for _, s := range secrets {
		if s != "" {
			msg = strings.ReplaceAll(msg, s, "<redacted>")
		}
	}
	return msg
}

// redactedError is an error whose text had to be rewritten; it keeps only
// whether the original was a timeout, not the original itself.
type redactedError struct {
	msg     string
	timeout bool
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Timeout() bool { return e.timeout }

func isTimeout(err error) bool {
	var t interface{ Timeout() bool }
	return errors.As(err, &t) && t.Timeout()
}

// postJSON posts body to raw with the headers and returns the status. The
// response body is drained and closed. Errors are redacted.
func postJSON(ctx context.Context, client *http.Client, raw string, body []byte, header http.Header) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, raw, bytes.NewReader(body))
	if err != nil {
		return 0, nil, RedactError(err, raw)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", userAgent)
	for k, vs := range header {
		req.Header[k] = vs
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, RedactError(err, raw)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxErrBody))
	if err != nil {
		return resp.StatusCode, nil, fmt.Errorf("read response of %s: %w", RedactURL(raw), RedactError(err, raw))
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, b, nil
}
