package destination

import (
	"context"
	"encoding/json"
	"errors"
	"time"
)

// Delivery is one change as receivers see it (the webhook body's "changes" entries, one NATS
// message, one file line).
type Delivery struct {
	ID        string          `json:"id"` // "<workspace>-<seq>", stable across retries
	Seq       uint64          `json:"seq"`
	Segment   SegmentRef      `json:"segment"`
	Kind      string          `json:"kind"`
	Profile   ProfileRef      `json:"profile"`
	EventTime time.Time       `json:"event_time,omitzero"`
	At        time.Time       `json:"at"`
	Reason    json.RawMessage `json:"reason,omitempty"`
}

// SegmentRef names the segment of a change.
type SegmentRef struct {
	ID   string `json:"id"`
	Name string `json:"name,omitempty"`
}

// ProfileRef is the profile of a change with its identifiers and the configured traits.
type ProfileRef struct {
	ID          uint32              `json:"id"`
	Identifiers map[string][]string `json:"identifiers,omitempty"`
	Traits      map[string]any      `json:"traits,omitempty"`
}

// Batch is what a sink sends at once: the webhook body.
type Batch struct {
	Destination string     `json:"destination"`
	Changes     []Delivery `json:"changes"`
}

// sink sends batches to one receiver. Send returns nil only when every change of the batch was
// accepted; a *PermanentError means retrying the same batch cannot succeed.
type sink interface {
	Send(ctx context.Context, b *Batch) error
	Close() error
}

// PermanentError is a failure that retrying cannot fix (such as HTTP 400 or 410): the batch goes
// to the dead-letter list at once.
type PermanentError struct{ Err error }

func (e *PermanentError) Error() string { return "permanent: " + e.Err.Error() }
func (e *PermanentError) Unwrap() error { return e.Err }

func isPermanent(err error) bool {
	var p *PermanentError
	return errors.As(err, &p)
}

// RetryAfterError asks for a minimum wait before the next attempt (HTTP 429/503 Retry-After).
type RetryAfterError struct {
	Err   error
	After time.Duration
}

func (e *RetryAfterError) Error() string { return e.Err.Error() }
func (e *RetryAfterError) Unwrap() error { return e.Err }

func newSink(c *Config, allowPrivate bool) (sink, error) {
	switch c.Kind {
	case TypeWebhook:
		return newWebhook(c.Webhook, allowPrivate), nil
	case TypeNATS:
		return newNATSSink(c.NATS)
	case TypeFile:
		return newFileSink(c.ID, c.File)
	}
	panic("destination: newSink on an unvalidated configuration")
}
