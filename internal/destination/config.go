package destination

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Destination kinds.
const (
	TypeWebhook = "webhook"
	TypeNATS    = "nats"
	TypeFile    = "file"
)

// Config is a destination as stored (store document kind "destination") and as the
// /api/v1/destinations API reads and writes it.
type Config struct {
	ID   string `json:"id"`
	Name string `json:"name,omitempty"`
	Kind string `json:"kind"`
	// Segments selects changes by segment id or name; empty means every segment.
	Segments []string `json:"segments,omitempty"`
	// Changes selects change kinds; empty means both "enter" and "exit".
	Changes []string `json:"changes,omitempty"`
	// Suppress lists segments (ids or names) whose current members are never sent.
	Suppress []string `json:"suppress,omitempty"`
	// Traits are the trait names included with each profile.
	Traits []string `json:"traits,omitempty"`
	// Channel is the marketing channel this destination feeds (email, sms, push, ads, …).
	// When set, profiles without consent for it are never sent (see docs/security.md for the
	// consent traits).
	Channel string `json:"channel,omitempty"`
	Paused  bool   `json:"paused,omitempty"`
	// Start is where a new destination begins: "earliest" (the whole change log, default) or
	// "latest" (only changes recorded after it is created).
	Start       string   `json:"start,omitempty"`
	BatchSize   int      `json:"batch_size,omitempty"`
	Linger      Duration `json:"linger,omitempty"`
	MaxAttempts int      `json:"max_attempts,omitempty"`
	// BackoffInitial and BackoffMax bound the exponential backoff between attempts.
	BackoffInitial Duration `json:"backoff_initial,omitempty"`
	BackoffMax     Duration `json:"backoff_max,omitempty"`

	Webhook *WebhookConfig `json:"webhook,omitempty"`
	NATS    *NATSConfig    `json:"nats,omitempty"`
	File    *FileConfig    `json:"file,omitempty"`
}

// WebhookConfig configures kind "webhook".
type WebhookConfig struct {
	URL     string            `json:"url"`
	Secret  string            `json:"secret,omitempty"`
	Timeout Duration          `json:"timeout,omitempty"`
	Headers map[string]string `json:"headers,omitempty"`
}

// NATSConfig configures kind "nats".
type NATSConfig struct {
	URL       string `json:"url,omitempty"`
	Subject   string `json:"subject"`
	JetStream bool   `json:"jetstream,omitempty"`
	// Stream, when set with JetStream, makes the server check that the subject belongs to it.
	Stream  string   `json:"stream,omitempty"`
	Timeout Duration `json:"timeout,omitempty"`
}

// FileConfig configures kind "file".
type FileConfig struct {
	Dir          string   `json:"dir"`
	Format       string   `json:"format,omitempty"` // "jsonl" (default) or "csv"
	RollBytes    int64    `json:"roll_bytes,omitempty"`
	RollInterval Duration `json:"roll_interval,omitempty"`
}

// Defaults.
const (
	DefaultBatchSize      = 100
	DefaultLinger         = Duration(5 * time.Millisecond)
	DefaultMaxAttempts    = 10
	DefaultBackoffInitial = Duration(100 * time.Millisecond)
	DefaultBackoffMax     = Duration(30 * time.Second)
	DefaultWebhookTimeout = Duration(10 * time.Second)
	DefaultNATSURL        = "nats://127.0.0.1:4222"
	DefaultNATSTimeout    = Duration(5 * time.Second)
	DefaultRollBytes      = 64 << 20
	MaxBatchSize          = 10000
)

// Duration is a time.Duration written in JSON as a Go duration string ("250ms", "1m").
type Duration time.Duration

// D returns the time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// MarshalJSON encodes d as a duration string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// UnmarshalJSON accepts a duration string such as "250ms".
func (d *Duration) UnmarshalJSON(b []byte) error {
	// An *json.UnmarshalTypeError lets the decoder add the field path.
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return &json.UnmarshalTypeError{Value: string(b), Type: durationType}
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return &json.UnmarshalTypeError{Value: strconv.Quote(s), Type: durationType}
	}
	*d = Duration(v)
	return nil
}

var durationType = reflect.TypeFor[Duration]()

// ConfigError is a configuration problem at a JSON path such as "webhook.url".
type ConfigError struct {
	Path string
	Msg  string
}

func (e *ConfigError) Error() string {
	if e.Path == "" {
		return "destination: " + e.Msg
	}
	return "destination: " + e.Path + ": " + e.Msg
}

func cfgErr(path, format string, args ...any) error {
	return &ConfigError{Path: path, Msg: fmt.Sprintf(format, args...)}
}

// fields is the shape of the configuration for the unknown-field check: a nested map is an
// object with known keys, nil is a leaf value (free-form maps such as headers are leaves).
var fields = map[string]any{
	"id": nil, "name": nil, "kind": nil, "segments": nil, "changes": nil, "suppress": nil,
	"traits": nil, "paused": nil, "start": nil, "batch_size": nil, "linger": nil,
	"max_attempts": nil, "backoff_initial": nil, "backoff_max": nil,
	"webhook": map[string]any{"url": nil, "secret": nil, "timeout": nil, "headers": nil},
	"nats":    map[string]any{"url": nil, "subject": nil, "jetstream": nil, "stream": nil, "timeout": nil},
	"file":    map[string]any{"dir": nil, "format": nil, "roll_bytes": nil, "roll_interval": nil},
}

// ParseConfig decodes a configuration strictly (an unknown field is an error naming its path),
// applies defaults and validates it.
func ParseConfig(b []byte) (Config, error) {
	c, err := DecodeConfig(b)
	if err != nil {
		return c, err
	}
	c.SetDefaults()
	return c, c.Validate()
}

// DecodeConfig decodes a configuration strictly without defaults or validation.
func DecodeConfig(b []byte) (Config, error) {
	var c Config
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return c, cfgErr("", "invalid JSON: %v", err)
	}
	if err := checkFields(raw, "", fields); err != nil {
		return c, err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			if te.Type == durationType {
				return c, cfgErr(te.Field, "want a duration string such as \"250ms\", got %s", te.Value)
			}
			return c, cfgErr(te.Field, "want %s, got JSON %s", te.Type, te.Value)
		}
		return c, cfgErr("", "%v", err)
	}
	return c, nil
}

func checkFields(raw map[string]json.RawMessage, prefix string, known map[string]any) error {
	keys := make([]string, 0, len(raw))
	for k := range raw {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		path := k
		if prefix != "" {
			path = prefix + "." + k
		}
		sub, ok := known[k]
		if !ok {
			return cfgErr(path, "unknown field")
		}
		m, isObj := sub.(map[string]any)
		if !isObj || string(raw[k]) == "null" {
			continue
		}
		var inner map[string]json.RawMessage
		if err := json.Unmarshal(raw[k], &inner); err != nil {
			return cfgErr(path, "want an object")
		}
		if err := checkFields(inner, path, m); err != nil {
			return err
		}
	}
	return nil
}

// SetDefaults fills zero fields with their defaults.
func (c *Config) SetDefaults() {
	if len(c.Changes) == 0 {
		c.Changes = []string{KindEnter, KindExit}
	}
	if c.Start == "" {
		c.Start = "earliest"
	}
	if c.BatchSize == 0 {
		c.BatchSize = DefaultBatchSize
	}
	if c.Linger == 0 {
		c.Linger = DefaultLinger
	}
	if c.MaxAttempts == 0 {
		c.MaxAttempts = DefaultMaxAttempts
	}
	if c.BackoffInitial == 0 {
		c.BackoffInitial = DefaultBackoffInitial
	}
	if c.BackoffMax == 0 {
		c.BackoffMax = DefaultBackoffMax
	}
	if c.Webhook != nil && c.Webhook.Timeout == 0 {
		c.Webhook.Timeout = DefaultWebhookTimeout
	}
	if c.NATS != nil {
		if c.NATS.URL == "" {
			c.NATS.URL = DefaultNATSURL
		}
		if c.NATS.Timeout == 0 {
			c.NATS.Timeout = DefaultNATSTimeout
		}
	}
	if c.File != nil {
		if c.File.Format == "" {
			c.File.Format = "jsonl"
		}
		if c.File.RollBytes == 0 && c.File.RollInterval == 0 {
			c.File.RollBytes = DefaultRollBytes
		}
	}
}

var idPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)
var subjectPattern = regexp.MustCompile(`^[^\s*>]+$`)

// Validate reports the first configuration error, naming its path and what to change.
func (c *Config) Validate() error {
	if !idPattern.MatchString(c.ID) {
		return cfgErr("id", "must be 1-64 letters, digits, '_' or '-'")
	}
	for i, k := range c.Changes {
		if k != KindEnter && k != KindExit {
			return cfgErr(fmt.Sprintf("changes[%d]", i), "must be \"enter\" or \"exit\", not %q", k)
		}
	}
	for name, list := range map[string][]string{"segments": c.Segments, "suppress": c.Suppress, "traits": c.Traits} {
		for i, s := range list {
			if strings.TrimSpace(s) == "" {
				return cfgErr(fmt.Sprintf("%s[%d]", name, i), "must not be empty")
			}
		}
	}
	switch {
	case c.Start != "earliest" && c.Start != "latest":
		return cfgErr("start", "must be \"earliest\" or \"latest\", not %q", c.Start)
	case c.BatchSize < 1 || c.BatchSize > MaxBatchSize:
		return cfgErr("batch_size", "must be between 1 and %d", MaxBatchSize)
	case c.Linger < 0 || c.Linger.D() > time.Minute:
		return cfgErr("linger", "must be between 0 and 1m")
	case c.MaxAttempts < 1:
		return cfgErr("max_attempts", "must be at least 1")
	case c.BackoffInitial <= 0:
		return cfgErr("backoff_initial", "must be positive")
	case c.BackoffMax < c.BackoffInitial:
		return cfgErr("backoff_max", "must be at least backoff_initial (%s)", c.BackoffInitial.D())
	}
	set := 0
	for _, p := range []bool{c.Webhook != nil, c.NATS != nil, c.File != nil} {
		if p {
			set++
		}
	}
	if set > 1 {
		return cfgErr("", "set only the section of kind %q", c.Kind)
	}
	switch c.Kind {
	case TypeWebhook:
		if c.Webhook == nil {
			return cfgErr("webhook", "required for kind \"webhook\"")
		}
		u, err := url.Parse(c.Webhook.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return cfgErr("webhook.url", "must be an absolute http:// or https:// URL")
		}
		if c.Webhook.Timeout <= 0 {
			return cfgErr("webhook.timeout", "must be positive")
		}
		for h := range c.Webhook.Headers {
			if strings.HasPrefix(strings.ToLower(h), "x-segd-") || strings.EqualFold(h, "content-type") {
				return cfgErr("webhook.headers."+h, "is set by segd and cannot be overridden")
			}
		}
	case TypeNATS:
		if c.NATS == nil {
			return cfgErr("nats", "required for kind \"nats\"")
		}
		if !subjectPattern.MatchString(c.NATS.Subject) {
			return cfgErr("nats.subject", "must be a literal subject (no spaces or wildcards)")
		}
		if c.NATS.Stream != "" && !c.NATS.JetStream {
			return cfgErr("nats.stream", "only applies with \"jetstream\": true")
		}
		if c.NATS.Timeout <= 0 {
			return cfgErr("nats.timeout", "must be positive")
		}
	case TypeFile:
		if c.File == nil {
			return cfgErr("file", "required for kind \"file\"")
		}
		if c.File.Dir == "" {
			return cfgErr("file.dir", "required")
		}
		if c.File.Format != "jsonl" && c.File.Format != "csv" {
			return cfgErr("file.format", "must be \"jsonl\" or \"csv\", not %q", c.File.Format)
		}
		if c.File.RollBytes < 0 || c.File.RollInterval < 0 {
			return cfgErr("file", "roll_bytes and roll_interval must not be negative")
		}
	default:
		return cfgErr("kind", "must be \"webhook\", \"nats\" or \"file\", not %q", c.Kind)
	}
	return nil
}

// wantsKind reports whether the configuration selects the change kind.
func (c *Config) wantsKind(kind string) bool { return slices.Contains(c.Changes, kind) }

// wantsSegment reports whether the configuration selects the segment (by id or name).
func (c *Config) wantsSegment(id, name string) bool {
	if len(c.Segments) == 0 {
		return true
	}
	return slices.Contains(c.Segments, id) || slices.Contains(c.Segments, name)
}
