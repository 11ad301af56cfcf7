// Package audit owns segd's privacy records: the durable audit log of administrative actions
// (who, what, when, with what result) and the consent rules that say whether a profile may be
// contacted on a channel. The log lives in the store as an append-only log per workspace.
//
// audit must not import httpapi, ingest or any component that serves requests: httpapi calls
// it, destinations call Consent.
package audit

import (
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/segd/segd/internal/store"
)

// logName is the store log the entries are appended to (documents of kind "log:audit").
const logName = "audit"

// Entry is one audited action.
type Entry struct {
	Seq    uint64    `json:"seq"`
	At     time.Time `json:"at"`
	Key    string    `json:"key"`    // prefix of the key that acted (never the secret)
	Scope  string    `json:"scope"`  // its scope
	Method string    `json:"method"` // HTTP method
	Route  string    `json:"route"`  // the route pattern, e.g. "DELETE /api/v1/profiles/{id}"
	Path   string    `json:"path"`   // the request path with the ids
	// IDs are the route's path parameters (id, type, prefix …).
	IDs    map[string]string `json:"ids,omitempty"`
	Status int               `json:"status"`
	Remote string            `json:"remote,omitempty"` // client address
}

// Store is what the log needs of the store.
type Store interface {
	AppendLog(ws uint32, name string, entries [][]byte) (uint64, error)
	RecentLog(ws uint32, name string, limit int, fn func(seq uint64, v []byte) (bool, error)) error
	ReadLog(ws uint32, name string, from uint64, fn func(seq uint64, v []byte) (bool, error)) error
}

var _ Store = (*store.Store)(nil)

// Log appends and reads audit entries. It is safe for concurrent use.
type Log struct {
	st Store
	mu sync.Mutex // serialises appends (the store's log needs it)
}

// New returns a Log over st.
func New(st Store) (*Log, error) {
	if st == nil {
		return nil, errors.New("audit: store is required")
	}
	return &Log{st: st}, nil
}

// Append records e durably (fsync) in ws's log and returns its sequence number.
func (l *Log) Append(ws uint32, e Entry) (uint64, error) {
	if e.At.IsZero() {
		e.At = time.Now().UTC()
	}
	e.Seq = 0
	b, err := json.Marshal(e)
	if err != nil {
		return 0, fmt.Errorf("audit: encode entry: %w", err)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	seq, err := l.st.AppendLog(ws, logName, [][]byte{b})
	if err != nil {
		return 0, fmt.Errorf("audit: append: %w", err)
	}
	return seq, nil
}

// Recent returns up to limit entries of ws, newest first, with sequence numbers below before
// (0: no bound).
func (l *Log) Recent(ws uint32, limit int, before uint64) ([]Entry, error) {
	out := []Entry{}
	err := l.st.RecentLog(ws, logName, 0, func(seq uint64, v []byte) (bool, error) {
		if before != 0 && seq >= before {
			return true, nil
		}
		var e Entry
		if err := json.Unmarshal(v, &e); err != nil {
			return false, fmt.Errorf("audit: decode entry %d: %w", seq, err)
		}
		e.Seq = seq
		out = append(out, e)
		return limit <= 0 || len(out) < limit, nil
	})
	return out, err
}

// Since returns the entries of ws with sequence number ≥ from, oldest first, at most limit.
func (l *Log) Since(ws uint32, from uint64, limit int) ([]Entry, error) {
	out := []Entry{}
	err := l.st.ReadLog(ws, logName, from, func(seq uint64, v []byte) (bool, error) {
		var e Entry
		if err := json.Unmarshal(v, &e); err != nil {
			return false, fmt.Errorf("audit: decode entry %d: %w", seq, err)
		}
		e.Seq = seq
		out = append(out, e)
		return limit <= 0 || len(out) < limit, nil
	})
	return out, err
}
