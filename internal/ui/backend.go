package ui

import (
	"context"
	"encoding/json"
	"errors"
	"time"
)

// ErrNotFound is returned by backends for a missing profile or segment.
var ErrNotFound = errors.New("not found")

// Backend is the product as the UI sees it.
type Backend interface {
	// Authenticate maps a workspace admin token to its workspace.
	Authenticate(token string) (ws uint32, ok bool)
	Overview(ctx context.Context, ws uint32) (Overview, error)
	// EventsPerDay returns event counts per day (workspace zone) for the last days days, oldest first.
	EventsPerDay(ctx context.Context, ws uint32, days int) ([]DayCount, error)
	Schema(ws uint32) (Schema, error)
	// Query evaluates SegQL text now.
	Query(ctx context.Context, ws uint32, text string, explain bool) (QueryResult, error)
	// Check parses text (or decodes the JSON tree when Tree is set), checks it against the
	// schema and, when it has no errors and Estimate is set, counts the members and what each
	// top-level condition alone keeps.
	Check(ctx context.Context, ws uint32, in CheckInput) (CheckResult, error)
	// FindProfile resolves a profile id or an identifier value (userId, email, anonymousId …).
	FindProfile(ws uint32, q string) (uint32, error)
	Profile(ws uint32, id uint32) (ProfileView, error)
	ProfileEvents(ws uint32, id uint32, before time.Time, limit int) ([]EventView, error)
}

// Segments stores segment definitions and answers membership.
type Segments interface {
	List(ctx context.Context, ws uint32) ([]SegmentRow, error)
	Get(ctx context.Context, ws uint32, name string) (SegmentDetail, error)
	Save(ctx context.Context, ws uint32, in SegmentInput) error
	// Members returns up to limit member ids greater than after, ascending, and the total.
	Members(ctx context.Context, ws uint32, name string, after uint32, limit int) ([]uint32, uint64, error)
}

// SizeHistory is the membership time series (nil until membership is wired).
type SizeHistory interface {
	SizeHistory(ctx context.Context, ws uint32, name string, since time.Time) ([]SizePoint, error)
}

// LiveFeed streams enter/exit changes of a segment (nil until live is wired). The channel is
// closed when ctx ends.
type LiveFeed interface {
	Subscribe(ctx context.Context, ws uint32, segment string) (<-chan FeedEntry, error)
}

// Analytics serves the analytics page (nil until analytics is wired).
type Analytics interface {
	RFM(ctx context.Context, ws uint32) (RFMGrid, error)
	Distributions(ctx context.Context, ws uint32) ([]Distribution, error)
}

// ErrNotComputed (wrapped, with what is happening) is what Analytics returns before the first
// computation has finished: the page says so instead of failing.
var ErrNotComputed = errors.New("analytics have not been computed yet")

// Destinations serves the destinations page (nil until destinations are wired).
type Destinations interface {
	Destinations(ctx context.Context, ws uint32) ([]DestinationRow, error)
	Replay(ctx context.Context, ws uint32, id string) error
}

// DataAdmin lists keys and import results (nil until wired).
type DataAdmin interface {
	Keys(ws uint32) ([]KeyRow, error)
	Imports(ws uint32) ([]ImportRow, error)
}

// Overview is the home page summary.
type Overview struct {
	Profiles        uint64
	Events          int
	EventsToday     int
	EventsPerMinute int // events with event time in the last minute
	Segments        int
	Growing         []SegmentTrend // fastest growing first; empty without size history
	Shrinking       []SegmentTrend
	IngestErrors    int // -1 when unknown
}

// SegmentTrend is a segment with its change over 7 days.
type SegmentTrend struct {
	Name   string
	Size   uint64
	Change int64
}

// DayCount is one day of a series.
type DayCount struct {
	Day   time.Time `json:"day"`
	Count int       `json:"count"`
}

// Schema is the discovered schema in the shape the pages and the builder use.
type Schema struct {
	Profiles int          `json:"profiles"`
	Traits   []Field      `json:"traits"`
	Computed []Field      `json:"computed"` // computed traits (RFM, churn, CLV …), known or not yet produced
	Events   []EventInfo  `json:"events"`
	Records  []RecordInfo `json:"records"`
	Segments []string     `json:"segments"`
}

// Field is a trait, property or attribute with its kind (text, number, bool, time, geo, list).
type Field struct {
	Name  string `json:"name"`
	Kind  string `json:"kind"`
	Count int    `json:"count"`
}

// EventInfo is one event table: Kind "track" with Name, or "page"/"screen".
type EventInfo struct {
	Kind       string  `json:"kind"`
	Name       string  `json:"name"`
	Count      int     `json:"count"`
	Profiles   int     `json:"profiles"`
	Properties []Field `json:"properties"`
}

// RecordInfo is one related-record type.
type RecordInfo struct {
	Type       string  `json:"type"`
	Count      int     `json:"count"`
	Attributes []Field `json:"attributes"`
}

// QueryResult is an evaluation.
type QueryResult struct {
	Count  uint64          `json:"count"`
	Sample []uint32        `json:"sample"`
	Took   time.Duration   `json:"took_ns"`
	Plan   json.RawMessage `json:"plan,omitempty"`
	Errors []Diagnostic    `json:"errors,omitempty"`
}

// CheckInput is what the editor or the builder sends.
type CheckInput struct {
	Text     string          `json:"text,omitempty"`
	Tree     json.RawMessage `json:"tree,omitempty"`
	Estimate bool            `json:"estimate,omitempty"`
	Segment  string          `json:"segment,omitempty"` // the segment being edited (cycles, sample seed)
}

// CheckResult is the answer: canonical text and JSON tree when the input parsed, diagnostics,
// and the estimate.
type CheckResult struct {
	Text       string           `json:"text"`
	Canonical  string           `json:"canonical,omitempty"`
	Tree       json.RawMessage  `json:"tree,omitempty"`
	Errors     []Diagnostic     `json:"errors"`
	Count      *uint64          `json:"count,omitempty"`
	Conditions []ConditionCount `json:"conditions,omitempty"` // top-level conditions in source order
	Took       time.Duration    `json:"took_ns"`
}

// Diagnostic is one checker or parser message with its span in the text (byte offsets).
type Diagnostic struct {
	Line       int    `json:"line"`
	Col        int    `json:"col"`
	Offset     int    `json:"offset"`
	End        int    `json:"end"`
	Code       string `json:"code"`
	Message    string `json:"message"`
	Suggestion string `json:"suggestion,omitempty"`
	Warning    bool   `json:"warning,omitempty"`
}

// ConditionCount is what one top-level condition alone keeps.
type ConditionCount struct {
	Text  string `json:"text"`
	Count uint64 `json:"count"`
}

// ProfileView is the profile 360.
type ProfileView struct {
	ID          uint32
	Identifiers []Identifier
	Traits      []TraitRow
	Computed    []TraitRow
	FirstSeen   time.Time
	LastSeen    time.Time
	Events      int64
	Merges      []MergeRow
	Records     []RecordRow
	Segments    []string
}

// Identifier is one identity of a profile.
type Identifier struct {
	Type, Value string
	Added       time.Time
}

// TraitRow is a trait with its value as text and when it was set.
type TraitRow struct {
	Name, Value string
	Set         time.Time
}

// MergeRow is one merge that touched the profile.
type MergeRow struct {
	At         time.Time
	From, Into uint32
	Linking    string
	Events     int64
}

// RecordRow is one related record.
type RecordRow struct {
	Type, ID   string
	Time       time.Time
	Attributes string
}

// EventView is one event of the timeline.
type EventView struct {
	Time       time.Time
	Type       string // track, page, identify …
	Name       string
	Properties string // short rendering
}

// SegmentRow is a line of the segments list.
type SegmentRow struct {
	Name         string
	Description  string
	Tags         []string
	Mode         string
	Size         uint64
	Change7d     *int64   // nil without size history
	Spark        []uint64 // daily sizes, oldest first; nil without size history
	Destinations []string
	Updated      time.Time
}

// SegmentDetail is one segment.
type SegmentDetail struct {
	SegmentRow
	Query    string
	Versions []SegmentVersion
}

// SegmentVersion is one saved definition.
type SegmentVersion struct {
	Version int
	Query   string
	Mode    string
	Saved   time.Time
}

// SegmentInput is what the builder saves.
type SegmentInput struct {
	Name        string
	Description string
	Tags        []string
	Query       string
	Mode        string // realtime, scheduled, snapshot
}

// Segment modes.
const (
	ModeRealtime  = "realtime"
	ModeScheduled = "scheduled"
	ModeSnapshot  = "snapshot"
)

// SizePoint is one point of a segment's size history.
type SizePoint struct {
	Time    time.Time `json:"t"`
	Size    uint64    `json:"size"`
	Entered uint64    `json:"entered"`
	Exited  uint64    `json:"exited"`
}

// FeedEntry is one enter/exit change.
type FeedEntry struct {
	Time    time.Time `json:"time"`
	Profile uint32    `json:"profile"`
	Enter   bool      `json:"enter"`
	Reason  string    `json:"reason"`
}

// RFMGrid is recency × frequency cells.
type RFMGrid struct {
	Cells [5][5]RFMCell
}

// RFMCell is one cell of the grid.
type RFMCell struct {
	Profiles int
	Revenue  float64
	Query    string // SegQL selecting the cell
}

// Distribution is a histogram of a computed value.
type Distribution struct {
	Name    string
	Buckets []Bucket
}

// Bucket is one histogram bar.
type Bucket struct {
	Label string
	Count int
}

// DestinationRow is one destination with its status.
type DestinationRow struct {
	ID, Name, Kind, Status string
	Lag                    time.Duration
	Failures, DeadLetters  int
}

// KeyRow is an API key as listed (never the secret).
type KeyRow struct {
	Prefix, Scope string
	Created       time.Time
	Revoked       bool
}

// ImportRow is one import run.
type ImportRow struct {
	Started      time.Time
	Kind, Source string
	Rows, Errors int
}
