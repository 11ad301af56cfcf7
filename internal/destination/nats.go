package destination

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// HeaderMsgID is the NATS header with the change id; JetStream deduplicates on it within the
// stream's duplicate window.
const HeaderMsgID = "Nats-Msg-Id"

// natsSink publishes one message per change, in feed order. With JetStream each publish waits
// for the stream's acknowledgement before the next one, so a retried batch can only repeat
// changes (deduplicated by Nats-Msg-Id), never reorder them. Core NATS publishes the batch and
// then flushes: success means the server received it, not that a subscriber did.
type natsSink struct {
	cfg *NATSConfig
	nc  *nats.Conn
	js  jetstream.JetStream
}

func newNATSSink(c *NATSConfig) (*natsSink, error) { return &natsSink{cfg: c}, nil }

// connect dials on first use, so that an unreachable server is a retried send error and not a
// configuration error.
func (s *natsSink) connect() error {
	if s.nc != nil && !s.nc.IsClosed() {
		return nil
	}
	nc, err := nats.Connect(s.cfg.URL, nats.Name("segd-destination"), nats.Timeout(s.cfg.Timeout.D()),
		nats.MaxReconnects(-1))
	if err != nil {
		return fmt.Errorf("nats connect %s: %w", s.cfg.URL, err)
	}
	s.nc = nc
	if s.cfg.JetStream {
		js, err := jetstream.New(nc)
		if err != nil {
			nc.Close()
			s.nc = nil
			return fmt.Errorf("nats jetstream: %w", err)
		}
		s.js = js
	}
	return nil
}

func (s *natsSink) Send(ctx context.Context, b *Batch) error {
	if err := s.connect(); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout.D())
	defer cancel()
	for i := range b.Changes {
		d := &b.Changes[i]
		data, err := json.Marshal(d)
		if err != nil {
			return &PermanentError{Err: fmt.Errorf("encode change %s: %w", d.ID, err)}
		}
		m := nats.NewMsg(s.cfg.Subject)
		m.Data = data
		m.Header.Set(HeaderMsgID, d.ID)
		m.Header.Set("Segd-Destination", b.Destination)
		if s.js != nil {
			var opts []jetstream.PublishOpt
			if s.cfg.Stream != "" {
				opts = append(opts, jetstream.WithExpectStream(s.cfg.Stream))
			}
			if _, err := s.js.PublishMsg(ctx, m, opts...); err != nil {
				return fmt.Errorf("jetstream publish %s: %w", d.ID, err)
			}
			continue
		}
		if err := s.nc.PublishMsg(m); err != nil {
			return fmt.Errorf("nats publish %s: %w", d.ID, err)
		}
	}
	if s.js == nil {
		if err := s.nc.FlushWithContext(ctx); err != nil {
			return fmt.Errorf("nats flush: %w", err)
		}
	}
	return nil
}

func (s *natsSink) Close() error {
	if s.nc != nil {
		s.nc.Close()
	}
	return nil
}
