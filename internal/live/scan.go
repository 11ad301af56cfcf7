package live

import (
	"context"
	"time"
)

// The re-arm scan reads every profile of a workspace to compute its timers for new or edited
// segments (and at start). It runs on its own goroutine and hands its results to the worker
// in chunks, so that the worker keeps applying changes meanwhile. The scan reads a snapshot:
// a result must not replace what the worker computed from later data. So while a scan runs,
// the worker notes the timers it sets and the profiles it touches; a result is applied only
// for timers the worker has not set since the scan began, and its profile data warms the cache
// only for profiles the worker has not touched (their later changes are still queued and,
// numbered above the data's highest sequence number, are applied on top of it).

type scanState struct {
	running  bool
	pending  rearmSet // requests that arrived while a scan ran
	profiles map[profKey]struct{}
	waiters  []chan struct{} // Sync calls waiting for the scan to finish
	cancel   context.CancelFunc
}

type scanChunk struct {
	ws    uint32
	timed []*compiled
	items []scanItem
	done  bool
	err   error
}

type scanItem struct {
	pid  uint32
	d    *profileData
	dues []time.Time // per timed segment
}

const scanChunkSize = 2048

func (l *Live) startScan(ws uint32, timed []*compiled, at []time.Time) {
	s := l.segs(ws)
	from := at[0]
	for _, t := range at {
		if t.Before(from) {
			from = t
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	l.scan.running, l.scan.cancel = true, cancel
	l.scan.profiles = map[profKey]struct{}{}
	l.timers.touched = map[timerKey]struct{}{}
	need, loc := s.needs, s.loc
	l.scanWG.Add(1)
	go func() {
		defer l.scanWG.Done()
		var items []scanItem
		send := func(done bool, err error) bool {
			select {
			case l.scanCh <- scanChunk{ws: ws, timed: timed, items: items, done: done, err: err}:
				items = nil
				l.signal()
				return true
			case <-ctx.Done():
				return false
			}
		}
		err := scanAll(ctx, l.st, ws, need, from, func(pid uint32, d *profileData) {
			dues := make([]time.Time, len(timed))
			for i, c := range timed {
				dues[i] = nextChange(c, d, at[i], loc, nil)
			}
			items = append(items, scanItem{pid: pid, d: d, dues: dues})
			if len(items) == scanChunkSize {
				send(false, nil)
			}
		})
		send(true, err)
	}()
}

// applyScan applies the chunks the scan has produced (waiting for them when wait is set,
// until the scan ends).
func (l *Live) applyScan(wait bool) {
	for l.scan.running {
		var ch scanChunk
		if wait {
			ch = <-l.scanCh
		} else {
			select {
			case ch = <-l.scanCh:
			default:
				return
			}
		}
		for _, it := range ch.items {
			for i, c := range ch.timed {
				k := timerKey{ch.ws, c.tseg, it.pid}
				if _, set := l.timers.touched[k]; !set {
					l.timers.setQuiet(k, it.dues[i], true)
				}
			}
			if _, touched := l.scan.profiles[profKey{ch.ws, it.pid}]; !touched {
				l.cache.warm(profKey{ch.ws, it.pid}, it.d) // its next events need no read
			}
		}
		if !ch.done {
			continue
		}
		if ch.err != nil {
			l.errs.Add(1)
			l.opts.Logger.Error("live: timer scan", "ws", ch.ws, "err", ch.err)
		}
		l.scan.running, l.scan.profiles, l.timers.touched = false, nil, nil
		l.scan.cancel()
		if len(l.scan.pending) > 0 {
			next := l.scan.pending
			l.scan.pending = rearmSet{}
			if err := l.rearmPending(context.Background(), next); err != nil {
				l.opts.Logger.Error("live: re-arm timers", "err", err)
			}
		}
		if !l.scan.running {
			// answered after the next flush is durable
			l.synced = append(l.synced, l.scan.waiters...)
			l.scan.waiters = nil
		}
	}
}

// touch notes that the worker used pid's data while a scan runs.
func (l *Live) touch(ws, pid uint32) {
	if l.scan.profiles != nil {
		l.scan.profiles[profKey{ws, pid}] = struct{}{}
	}
}
