package message

import "fmt"

// Limits bound what one request may carry. The defaults are Segment's documented limits: 32 KB
// per message (a single call's body or one batch element), 500 KB per batch request and 2,500
// messages per batch. Sizes are of the uncompressed JSON.
type Limits struct {
	MaxMessageBytes  int
	MaxBatchBytes    int
	MaxBatchMessages int
}

// DefaultLimits returns Segment's limits.
func DefaultLimits() Limits {
	return Limits{MaxMessageBytes: 32 << 10, MaxBatchBytes: 500 << 10, MaxBatchMessages: 2500}
}

// WithDefaults returns l with every zero field set to its default.
func (l Limits) WithDefaults() Limits {
	d := DefaultLimits()
	if l.MaxMessageBytes == 0 {
		l.MaxMessageBytes = d.MaxMessageBytes
	}
	if l.MaxBatchBytes == 0 {
		l.MaxBatchBytes = d.MaxBatchBytes
	}
	if l.MaxBatchMessages == 0 {
		l.MaxBatchMessages = d.MaxBatchMessages
	}
	return l
}

// Validate reports limits that cannot work.
func (l Limits) Validate() error {
	switch {
	case l.MaxMessageBytes <= 0:
		return fmt.Errorf("message limits: max message bytes must be positive, got %d", l.MaxMessageBytes)
	case l.MaxBatchBytes <= 0:
		return fmt.Errorf("message limits: max batch bytes must be positive, got %d", l.MaxBatchBytes)
	case l.MaxBatchMessages <= 0:
		return fmt.Errorf("message limits: max batch messages must be positive, got %d", l.MaxBatchMessages)
	case l.MaxMessageBytes > l.MaxBatchBytes:
		return fmt.Errorf("message limits: max message bytes (%d) must not exceed max batch bytes (%d)", l.MaxMessageBytes, l.MaxBatchBytes)
	}
	return nil
}
