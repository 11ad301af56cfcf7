// Package storetest holds test helpers for code that writes through the store.
package storetest

import (
	"strings"
	"sync"
	"sync/atomic"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/cockroachdb/pebble/v2/vfs/errorfs"
)

// SyncGate is an in-memory filesystem whose WAL fsyncs hang while it is held: a slow disk.
type SyncGate struct {
	FS      vfs.FS
	mu      sync.Mutex
	blocked chan struct{} // nil: syncs pass
	held    atomic.Int64
}

// NewSyncGate returns an open gate.
func NewSyncGate() *SyncGate {
	g := &SyncGate{}
	g.FS = errorfs.Wrap(vfs.NewMem(), errorfs.InjectorFunc(func(op errorfs.Op) error {
		if (op.Kind == errorfs.OpFileSync || op.Kind == errorfs.OpFileSyncData) && strings.HasSuffix(op.Path, ".log") {
			g.mu.Lock()
			ch := g.blocked
			g.mu.Unlock()
			if ch != nil {
				g.held.Add(1)
				<-ch
			}
		}
		return nil
	}))
	return g
}

// Hold makes later WAL fsyncs hang until Release.
func (g *SyncGate) Hold() {
	g.mu.Lock()
	if g.blocked == nil {
		g.blocked = make(chan struct{})
	}
	g.mu.Unlock()
}

// Release lets held and later fsyncs pass; releasing an open gate does nothing.
func (g *SyncGate) Release() {
	g.mu.Lock()
	if g.blocked != nil {
		close(g.blocked)
		g.blocked = nil
	}
	g.mu.Unlock()
}

// Held is the number of fsyncs that hung so far.
func (g *SyncGate) Held() int64 { return g.held.Load() }
