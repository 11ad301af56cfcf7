package destination

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"time"
)

// Change is one segment enter or exit, as the membership change log records it.
type Change struct {
	Seq       uint64 // global per-workspace sequence number, strictly increasing in the feed
	SegmentID string
	Segment   string // segment name
	Profile   uint32
	Kind      string    // KindEnter or KindExit
	EventTime time.Time // event time of the cause
	At        time.Time // wall time of the change
	Reason    json.RawMessage
}

// Change kinds.
const (
	KindEnter = "enter"
	KindExit  = "exit"
)

// ChangeID is the stable id of a change, the same on every delivery attempt; receivers
// deduplicate on it.
func ChangeID(ws uint32, seq uint64) string {
	return strconv.FormatUint(uint64(ws), 10) + "-" + strconv.FormatUint(seq, 10)
}

// Feed is the ordered, durable change log of a workspace.
type Feed interface {
	// Read returns up to limit changes with Seq > afterSeq in Seq order.
	Read(ctx context.Context, ws uint32, afterSeq uint64, limit int) ([]Change, error)
	// Wait returns when changes after afterSeq may exist, or when ctx is done.
	Wait(ctx context.Context, ws uint32, afterSeq uint64) error
}

// FeedHead is optionally implemented by a Feed to report the last sequence number of a
// workspace cheaply; status and "start": "latest" use it, and fall back to reading otherwise.
type FeedHead interface {
	Head(ws uint32) (uint64, error)
}

// Profiles describes a profile for delivery: its identifiers by type and the chosen traits.
type Profiles interface {
	Describe(ws uint32, pid uint32, traits []string) (identifiers map[string][]string, traitValues map[string]any, err error)
}

// ErrNoProfile is returned (possibly wrapped) by Profiles.Describe when the profile no longer
// exists (erased or merged away); the change is then delivered without identifiers or traits
// instead of being retried.
var ErrNoProfile = errors.New("destination: profile not found")

// Members answers segment membership at delivery time, for suppression lists. segment is the
// entry of the destination's suppress list as configured: a segment id or a segment name.
type Members interface {
	IsMember(ws uint32, segment string, pid uint32) bool
}
