package destination

import (
	"errors"
	"testing"
	"time"
)

func TestParseConfig(t *testing.T) {
	f := func(in, wantPath string) {
		t.Helper()
		_, err := ParseConfig([]byte(in))
		var ce *ConfigError
		switch {
		case wantPath == "-" && err != nil:
			t.Errorf("ParseConfig(%s) = %v, want ok", in, err)
		case wantPath != "-" && (!errors.As(err, &ce) || ce.Path != wantPath):
			t.Errorf("ParseConfig(%s) = %v, want an error at %q", in, err, wantPath)
		}
	}
	f(`{"id":"a","kind":"webhook","webhook":{"url":"https://h/x"}}`, "-")
	f(`{"id":"a","kind":"file","file":{"dir":"/tmp/x","format":"csv","roll_interval":"1h"}}`, "-")
	f(`{"id":"a","kind":"nats","nats":{"subject":"a.b","jetstream":true,"stream":"S"}}`, "-")
	f(`{"id":"a","kind":"nats","nats":{"subject":"a.b","stream":"S"}}`, "nats.stream")
	f(`{"id":"a","kind":"nats","nats":{"subject":"a.b","jetstram":true}}`, "nats.jetstram")
	f(`{"id":"a","kind":"file","file":{"dir":"/x","roll":"1h"}}`, "file.roll")
	f(`{"id":"a","kind":"file","file":{"dir":""}}`, "file.dir")
	f(`{"id":"a","kind":"webhook"}`, "webhook")
	f(`{"id":"a","kind":"webhook","webhook":{"url":"http://h"},"file":{"dir":"/x"}}`, "")
	f(`{"id":"a","kind":"webhook","webhook":{"url":"http://h","headers":{"X-Segd-Signature":"x"}}}`, "webhook.headers.X-Segd-Signature")
	f(`{"id":"a","kind":"webhook","batch_size":0,"max_attempts":-1,"webhook":{"url":"http://h"}}`, "max_attempts")
	f(`{"id":"a","kind":"webhook","batch_size":20000,"webhook":{"url":"http://h"}}`, "batch_size")
	f(`{"id":"a","kind":"webhook","backoff_initial":"2s","backoff_max":"1s","webhook":{"url":"http://h"}}`, "backoff_max")
	f(`{"id":"a","kind":"webhook","start":"now","webhook":{"url":"http://h"}}`, "start")
	f(`{"id":"a","kind":"webhook","segments":[""],"webhook":{"url":"http://h"}}`, "segments[0]")
	f(`{"id":"a","kind":"webhook","webhook":[1]}`, "webhook")
	f(`[1]`, "")
}

func TestConfigDefaults(t *testing.T) {
	c, err := ParseConfig([]byte(`{"id":"a","kind":"file","file":{"dir":"/x"}}`))
	if err != nil {
		t.Fatal(err)
	}
	if c.BatchSize != DefaultBatchSize || c.Linger != DefaultLinger || c.MaxAttempts != DefaultMaxAttempts ||
		len(c.Changes) != 2 || c.Start != "earliest" || c.File.Format != "jsonl" || c.File.RollBytes != DefaultRollBytes {
		t.Errorf("defaults not applied: %+v %+v", c, c.File)
	}
	r := &runner{cfg: Config{BackoffInitial: Duration(10 * time.Millisecond), BackoffMax: Duration(time.Second)}}
	for n := 1; n < 100; n++ {
		ceil := min(time.Second, 10*time.Millisecond<<min(n-1, 30))
		if d := r.backoff(n, 0); d < 0 || d > ceil {
			t.Fatalf("backoff(%d) = %s, outside [0, %s]", n, d, ceil)
		}
		if d := r.backoff(n, 5*time.Second); d != time.Second {
			t.Fatalf("backoff(%d, Retry-After 5s) = %s, want the 1s cap", n, d)
		}
	}
}
