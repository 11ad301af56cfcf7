package destination

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"
)

// FuzzParseConfig: a destination configuration from an API client never panics the decoder,
// every rejection is a *ConfigError, and an accepted configuration re-encodes to one that parses
// to the same value (what the API stores is what it reads back).
func FuzzParseConfig(f *testing.F) {
	for _, s := range []string{
		`{"kind":"webhook","webhook":{"url":"https://example.com/hook","secret":"s","timeout":"5s","headers":{"X-A":"b"}}}`,
		`{"kind":"nats","segments":["vip"],"changes":["enter"],"nats":{"url":"nats://127.0.0.1:4222","subject":"segd.vip","jetstream":true,"stream":"S"}}`,
		`{"kind":"file","file":{"dir":"/tmp/x","format":"csv","roll_bytes":1000,"roll_interval":"1h"},"batch_size":10,"linger":"10ms"}`,
		`{"kind":"webhook","webhook":{"url":"http://10.0.0.1/"},"max_attempts":-1,"backoff_initial":"1ns","backoff_max":"1h"}`,
		`{"kind":"file","file":{"dir":""},"start":"latest","suppress":["x"],"traits":["email"],"paused":true}`,
		`{"kind":"webhook","webhook":{"url":5}}`, `{"linger":"forever"}`, `[]`, `null`, `{"kind":"file","file":null}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ParseConfig(b)
		if err != nil {
			var ce *ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("%s: error %T %v is not a *ConfigError", b, err, err)
			}
			return
		}
		out, err := json.Marshal(c)
		if err != nil {
			t.Fatalf("%s: accepted config does not encode: %v", b, err)
		}
		c2, err := ParseConfig(out)
		if err != nil {
			t.Fatalf("%s: accepted config re-encoded as %s is rejected: %v", b, out, err)
		}
		if !reflect.DeepEqual(c, c2) {
			t.Fatalf("%s: round trip changed the config:\n%+v\n%+v", b, c, c2)
		}
	})
}
