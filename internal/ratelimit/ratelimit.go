// Package ratelimit owns per-key token buckets: each key (an API key prefix, a client address)
// gets Rate tokens per second up to Burst, and a request that finds no token is told how long
// to wait. It holds only counters in memory; it must not import store, httpapi or anything that
// does I/O.
package ratelimit

import (
	"errors"
	"math"
	"sync"
	"time"
)

// Options configure a Limiter.
type Options struct {
	// Rate is the sustained number of requests per second per key; 0 disables limiting.
	Rate float64
	// Burst is how many requests a key may make at once after being idle; default 2×Rate
	// (at least 1).
	Burst int
	// MaxKeys bounds memory: when more keys are tracked, full (idle) buckets are dropped.
	// Default 100000.
	MaxKeys int
	// Now is the clock; default time.Now.
	Now func() time.Time
}

func (o *Options) setDefaults() {
	if o.Burst == 0 {
		o.Burst = int(math.Ceil(2 * o.Rate))
		if o.Burst < 1 {
			o.Burst = 1
		}
	}
	if o.MaxKeys == 0 {
		o.MaxKeys = 100000
	}
	if o.Now == nil {
		o.Now = time.Now
	}
}

// Validate reports a configuration error.
func (o *Options) Validate() error {
	if o.Rate < 0 || math.IsNaN(o.Rate) || math.IsInf(o.Rate, 0) {
		return errors.New("ratelimit: rate must be a finite number ≥ 0 (0 disables limiting)")
	}
	if o.Burst < 0 || o.MaxKeys < 0 {
		return errors.New("ratelimit: burst and max keys must be ≥ 0")
	}
	return nil
}

// Limiter is a set of token buckets keyed by string. It is safe for concurrent use.
type Limiter struct {
	opts Options
	mu   sync.Mutex
	b    map[string]*bucket // guarded by mu
}

type bucket struct {
	tokens float64
	last   time.Time
}

// New builds a Limiter.
func New(opts Options) (*Limiter, error) {
	opts.setDefaults()
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	return &Limiter{opts: opts, b: map[string]*bucket{}}, nil
}

// Enabled reports whether the limiter limits anything.
func (l *Limiter) Enabled() bool { return l != nil && l.opts.Rate > 0 }

// Allow takes one token from key's bucket. When none is left it returns false and how long
// until one will be.
func (l *Limiter) Allow(key string) (bool, time.Duration) {
	if !l.Enabled() {
		return true, 0
	}
	now := l.opts.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.b[key]
	if b == nil {
		if len(l.b) >= l.opts.MaxKeys {
			l.evict(now)
		}
		b = &bucket{tokens: float64(l.opts.Burst), last: now}
		l.b[key] = b
	} else {
		l.refill(b, now)
	}
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	wait := time.Duration((1 - b.tokens) / l.opts.Rate * float64(time.Second))
	return false, wait
}

func (l *Limiter) refill(b *bucket, now time.Time) {
	if el := now.Sub(b.last).Seconds(); el > 0 {
		b.tokens = math.Min(float64(l.opts.Burst), b.tokens+el*l.opts.Rate)
		b.last = now
	}
}

// evict drops buckets that have refilled completely (their owners are idle); if none has,
// it drops all, which only ever errs in a client's favour.
func (l *Limiter) evict(now time.Time) {
	for k, b := range l.b {
		l.refill(b, now)
		if b.tokens >= float64(l.opts.Burst) {
			delete(l.b, k)
		}
	}
	if len(l.b) >= l.opts.MaxKeys {
		clear(l.b)
	}
}

// Rate is the configured sustained rate per key.
func (l *Limiter) Rate() float64 { return l.opts.Rate }

// Burst is the configured bucket size.
func (l *Limiter) Burst() int { return l.opts.Burst }

// Len is the number of tracked keys.
func (l *Limiter) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.b)
}
