// Package segment owns segment definitions: their durable storage (store
// documents of kinds "segment" and "segment-version"), versioning, name
// uniqueness, cycle rejection, evaluation of a segment query with segments of
// segments resolved, and the HTTP API for queries and segments
// (/api/v1/query, /api/v1/segments..., /api/v1/segql/...).
//
// It reads indexes through the Indexes interface it declares; it must not
// import ingest, live or cmd/segd. Membership kept current over time (the
// real-time path) belongs to live/membership, which subscribe through
// Options.OnChange.
package segment

import (
	"time"
)

// Modes of a segment.
const (
	// ModeRealtime segments change on every event and on timers.
	ModeRealtime = "realtime"
	// ModeScheduled segments are recomputed every Schedule.
	ModeScheduled = "scheduled"
	// ModeSnapshot segments are frozen lists: their members never change.
	ModeSnapshot = "snapshot"
)

// Segment is one segment definition, at one version.
type Segment struct {
	// ID is stable for the segment's life ("seg_" + random hex).
	ID string `json:"id"`
	// Name is unique per workspace and usable in `in segment "name"`.
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	// Query is the canonical SegQL text (printer output).
	Query string `json:"query"`
	// Mode is ModeRealtime, ModeScheduled or ModeSnapshot.
	Mode string `json:"mode"`
	// Schedule is a Go duration ("1h") for ModeScheduled, empty otherwise.
	Schedule string    `json:"schedule,omitempty"`
	Tags     []string  `json:"tags,omitempty"`
	Version  int       `json:"version"`
	Created  time.Time `json:"created"`
	Updated  time.Time `json:"updated"`
	// Snapshot is set for ModeSnapshot segments.
	Snapshot *SnapshotInfo `json:"snapshot,omitempty"`
}

// SnapshotInfo describes a frozen member list.
type SnapshotInfo struct {
	// At is the evaluation time at which the members were frozen.
	At time.Time `json:"at"`
	// Members is the number of frozen members.
	Members int `json:"members"`
	// From is the ID of the segment the snapshot was taken of, if any.
	From string `json:"from,omitempty"`
}

// Catalog is the read side of the segment service, for consumers (live,
// UI) that declare their own narrower interface; *Service satisfies it.
type Catalog interface {
	List(ws uint32) ([]Segment, error)
	Get(ws uint32, idOrName string) (Segment, error)
}
