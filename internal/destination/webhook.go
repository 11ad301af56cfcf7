package destination

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Webhook signature headers.
const (
	HeaderTimestamp = "X-Segd-Timestamp" // unix seconds of the attempt
	HeaderSignature = "X-Segd-Signature" // "v1=" + hex HMAC-SHA256(secret, timestamp + "." + body)
)

// Sign returns the X-Segd-Signature header value for a body sent at unix time ts.
func Sign(secret string, ts int64, body []byte) string {
	return "v1=" + hex.EncodeToString(mac(secret, strconv.FormatInt(ts, 10), body))
}

func mac(secret, ts string, body []byte) []byte {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(ts))
	m.Write([]byte{'.'})
	m.Write(body)
	return m.Sum(nil)
}

// Signature verification errors.
var (
	ErrBadSignature = errors.New("destination: signature does not match")
	ErrStale        = errors.New("destination: timestamp outside the tolerance")
)

// VerifySignature checks a webhook request: ts is the X-Segd-Timestamp header, header the
// X-Segd-Signature header (several comma-separated "v1=" values are accepted, for secret
// rotation), body the raw request body. A timestamp further than tolerance from now is refused
// (replay protection); tolerance <= 0 skips that check.
func VerifySignature(secret, ts string, body []byte, header string, tolerance time.Duration) error {
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return fmt.Errorf("%w: bad %s %q", ErrBadSignature, HeaderTimestamp, ts)
	}
	if tolerance > 0 {
		d := time.Since(time.Unix(sec, 0))
		if d < -tolerance || d > tolerance {
			return ErrStale
		}
	}
	want := mac(secret, ts, body)
	for _, part := range strings.Split(header, ",") {
		v, ok := strings.CutPrefix(strings.TrimSpace(part), "v1=")
		if !ok {
			continue
		}
		got, err := hex.DecodeString(v)
		if err == nil && hmac.Equal(got, want) {
			return nil
		}
	}
	return ErrBadSignature
}

type webhook struct {
	cfg    *WebhookConfig
	client *http.Client
	now    func() time.Time
}

func newWebhook(c *WebhookConfig, allowPrivate bool) *webhook {
	client := &http.Client{Timeout: c.Timeout.D(), Transport: guardedTransport(allowPrivate),
		// Redirects are followed at most 3 times; each hop dials through the same guard.
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= 3 {
				return errors.New("webhook: too many redirects")
			}
			return nil
		}}
	return &webhook{cfg: c, client: client, now: time.Now}
}

// Send POSTs the batch. 2xx is success; 400, 410, 413 and 422 are permanent (the receiver
// refuses this content or is gone for good); every other answer and every transport error is
// retried.
func (w *webhook) Send(ctx context.Context, b *Batch) error {
	body, err := json.Marshal(b)
	if err != nil {
		return &PermanentError{Err: fmt.Errorf("encode batch: %w", err)}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.cfg.URL, bytes.NewReader(body))
	if err != nil {
		return &PermanentError{Err: err}
	}
	for k, v := range w.cfg.Headers {
		req.Header.Set(k, v)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "segd-destination/1")
	ts := w.now().Unix()
	req.Header.Set(HeaderTimestamp, strconv.FormatInt(ts, 10))
	if w.cfg.Secret != "" {
		req.Header.Set(HeaderSignature, Sign(w.cfg.Secret, ts, body))
	}
	resp, err := w.client.Do(req)
	if err != nil {
		return fmt.Errorf("webhook post: %w", err)
	}
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20)) // let the connection be reused
	resp.Body.Close()
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return nil
	}
	err = fmt.Errorf("webhook answered %d: %s", resp.StatusCode, strings.TrimSpace(string(snippet)))
	switch resp.StatusCode {
	case http.StatusBadRequest, http.StatusGone, http.StatusRequestEntityTooLarge, http.StatusUnprocessableEntity:
		return &PermanentError{Err: err}
	case http.StatusTooManyRequests, http.StatusServiceUnavailable:
		if s, perr := strconv.Atoi(resp.Header.Get("Retry-After")); perr == nil && s > 0 {
			return &RetryAfterError{Err: err, After: time.Duration(s) * time.Second}
		}
	}
	return err
}

func (w *webhook) Close() error {
	w.client.CloseIdleConnections()
	return nil
}
