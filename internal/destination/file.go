package destination

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// csvHeader is the first line of every CSV file; identifiers, traits and reason are JSON.
var csvHeader = []string{"id", "seq", "segment_id", "segment", "kind", "profile", "event_time", "at", "identifiers", "traits", "reason"}

// fileSink appends batches to rolling files named "<destination>-<first seq, 20 digits>.<ext>",
// so that the lexical order of the files is the delivery order. Every batch is written with one
// write and fsynced before Send returns. After a failed write, and at every start, it begins a
// new file, so a torn write can only be the tail of a closed file.
type fileSink struct {
	id     string
	cfg    *FileConfig
	f      *os.File
	size   int64
	opened time.Time
	now    func() time.Time
}

func newFileSink(id string, c *FileConfig) (*fileSink, error) {
	return &fileSink{id: id, cfg: c, now: time.Now}, nil
}

func (s *fileSink) Send(ctx context.Context, b *Batch) error {
	if len(b.Changes) == 0 {
		return nil
	}
	buf, err := s.encode(b)
	if err != nil {
		return &PermanentError{Err: err}
	}
	if s.f != nil && s.shouldRoll() {
		if err := s.closeFile(); err != nil {
			return err
		}
	}
	if s.f == nil {
		if err := s.open(b.Changes[0].Seq); err != nil {
			return err
		}
	}
	if _, err := s.f.Write(buf); err != nil {
		s.abandon()
		return fmt.Errorf("file destination: write %s: %w", s.f.Name(), err)
	}
	if err := s.f.Sync(); err != nil {
		s.abandon()
		return fmt.Errorf("file destination: fsync: %w", err)
	}
	s.size += int64(len(buf))
	return nil
}

func (s *fileSink) shouldRoll() bool {
	return (s.cfg.RollBytes > 0 && s.size >= s.cfg.RollBytes) ||
		(s.cfg.RollInterval > 0 && s.now().Sub(s.opened) >= s.cfg.RollInterval.D())
}

func (s *fileSink) open(firstSeq uint64) error {
	if err := os.MkdirAll(s.cfg.Dir, 0o755); err != nil {
		return fmt.Errorf("file destination: %w", err)
	}
	name := filepath.Join(s.cfg.Dir, fmt.Sprintf("%s-%020d.%s", s.id, firstSeq, s.cfg.Format))
	// A file of that name exists when the same batch is sent again after a failure or restart:
	// take the next free suffix rather than appending to a possibly torn tail.
	for i := 1; ; i++ {
		if _, err := os.Stat(name); os.IsNotExist(err) {
			break
		}
		name = filepath.Join(s.cfg.Dir, fmt.Sprintf("%s-%020d.%d.%s", s.id, firstSeq, i, s.cfg.Format))
	}
	f, err := os.OpenFile(name, os.O_CREATE|os.O_EXCL|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("file destination: %w", err)
	}
	s.f, s.size, s.opened = f, 0, s.now()
	if s.cfg.Format == "csv" {
		var hb bytes.Buffer
		w := csv.NewWriter(&hb)
		w.Write(csvHeader)
		w.Flush()
		if _, err := f.Write(hb.Bytes()); err != nil {
			s.abandon()
			return fmt.Errorf("file destination: write header: %w", err)
		}
		s.size = int64(hb.Len())
	}
	// Make the new directory entry durable too.
	if d, err := os.Open(s.cfg.Dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

func (s *fileSink) encode(b *Batch) ([]byte, error) {
	var buf bytes.Buffer
	if s.cfg.Format == "jsonl" {
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		for i := range b.Changes {
			if err := enc.Encode(&b.Changes[i]); err != nil {
				return nil, err
			}
		}
		return buf.Bytes(), nil
	}
	w := csv.NewWriter(&buf)
	for i := range b.Changes {
		d := &b.Changes[i]
		ids, _ := json.Marshal(d.Profile.Identifiers)
		traits, _ := json.Marshal(d.Profile.Traits)
		reason := string(d.Reason)
		evt := ""
		if !d.EventTime.IsZero() {
			evt = d.EventTime.UTC().Format(time.RFC3339Nano)
		}
		w.Write([]string{d.ID, strconv.FormatUint(d.Seq, 10), d.Segment.ID, d.Segment.Name, d.Kind,
			strconv.FormatUint(uint64(d.Profile.ID), 10), evt, d.At.UTC().Format(time.RFC3339Nano),
			string(ids), string(traits), reason})
	}
	w.Flush()
	return buf.Bytes(), w.Error()
}

func (s *fileSink) abandon() {
	s.f.Close()
	s.f = nil
}

func (s *fileSink) closeFile() error {
	err := s.f.Close()
	s.f = nil
	if err != nil {
		return fmt.Errorf("file destination: close: %w", err)
	}
	return nil
}

func (s *fileSink) Close() error {
	if s.f == nil {
		return nil
	}
	return s.closeFile()
}
