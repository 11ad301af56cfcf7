package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/RoaringBitmap/roaring/v2"
	"github.com/jackc/pgx/v5"
	"golang.org/x/sync/errgroup"

	"github.com/segd/segd/internal/demodata"
)

// pgEngine is the local PostgreSQL server, loaded with COPY, in its own schema.
type pgEngine struct {
	dsn    string
	schema string
	conn   *pgx.Conn
}

func openPG(ctx context.Context, dsn, schema string) (*pgEngine, error) {
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	conn, err := pgx.Connect(cctx, dsn)
	if err != nil {
		return nil, fmt.Errorf("connect to postgresql %q: %w", dsn, err)
	}
	p := &pgEngine{dsn: dsn, schema: schema, conn: conn}
	if err := p.setup(ctx, conn); err != nil {
		conn.Close(ctx)
		return nil, err
	}
	return p, nil
}

// setup points a session at the benchmark schema with the memory a data engineer would give
// analytical queries.
func (p *pgEngine) setup(ctx context.Context, conn *pgx.Conn) error {
	for _, q := range []string{
		"CREATE SCHEMA IF NOT EXISTS " + p.schema,
		"SET search_path TO " + p.schema,
		"SET work_mem = '256MB'",
		"SET TIME ZONE 'UTC'",
	} {
		if _, err := conn.Exec(ctx, q); err != nil {
			return fmt.Errorf("postgresql %q: %w", q, err)
		}
	}
	return nil
}

func (p *pgEngine) Name() string { return "postgres" }

func (p *pgEngine) Close() error { return p.conn.Close(context.Background()) }

// Load recreates the tables, copies the data in with three concurrent COPYs fed by one
// generator pass, then indexes and analyzes as a data engineer would.
func (p *pgEngine) Load(ctx context.Context, opts demodata.Options) (time.Duration, error) {
	start := time.Now()
	for _, q := range []string{"DROP TABLE IF EXISTS profiles, events, records", ddlProfiles, ddlEvents, ddlRecords} {
		if _, err := p.conn.Exec(ctx, q); err != nil {
			return 0, fmt.Errorf("postgresql ddl: %w", err)
		}
	}
	g, gctx := errgroup.WithContext(ctx)
	srcs := map[string]*chanSource{}
	cols := map[string][]string{"profiles": profileCols, "events": eventCols, "records": recordCols}
	for _, t := range []string{"profiles", "events", "records"} {
		src := newChanSource(gctx)
		srcs[t] = src
		g.Go(func() error {
			conn, err := pgx.Connect(gctx, p.dsn)
			if err != nil {
				src.abort()
				return fmt.Errorf("connect for copy: %w", err)
			}
			defer conn.Close(context.Background())
			if err := p.setup(gctx, conn); err != nil {
				src.abort()
				return err
			}
			if _, err := conn.CopyFrom(gctx, pgx.Identifier{p.schema, t}, cols[t], src); err != nil {
				src.abort()
				return fmt.Errorf("copy %s: %w", t, err)
			}
			return nil
		})
	}
	g.Go(func() error {
		defer func() {
			for _, s := range srcs {
				s.finish()
			}
		}()
		return demodata.Generate(gctx, opts, demodata.Sink{
			Customer: func(c *demodata.Customer) error {
				s := srcs["profiles"]
				return s.push(func(row []any) []any { return profileRow(c, row) })
			},
			Event: func(r *demodata.EventRow) error {
				if r.Kind == demodata.KindIdentify {
					return nil
				}
				return srcs["events"].push(func(row []any) []any { row, _ = eventRow(r, row); return row })
			},
			Record: func(r *demodata.Record) error {
				return srcs["records"].push(func(row []any) []any { return recordRow(r, row) })
			},
		})
	})
	if err := g.Wait(); err != nil {
		return 0, err
	}
	for _, q := range []string{
		"CREATE INDEX events_name_ts ON events (name, ts)",
		"CREATE INDEX events_kind_ts ON events (kind, ts)",
		"CREATE INDEX events_profile_name_ts ON events (profile, name, ts)",
		"CREATE INDEX records_rtype ON records (rtype)",
		"ANALYZE profiles", "ANALYZE events", "ANALYZE records",
	} {
		if _, err := p.conn.Exec(ctx, q); err != nil {
			return 0, fmt.Errorf("postgresql %q: %w", q, err)
		}
	}
	return time.Since(start), nil
}

func (p *pgEngine) Run(ctx context.Context, s Segment, at string) (*roaring.Bitmap, error) {
	rows, err := p.conn.Query(ctx, s.SQL("postgres", at))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	bm := roaring.New()
	var id int32
	for rows.Next() {
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		bm.Add(uint32(id))
	}
	return bm, rows.Err()
}

// chanSource is a pgx.CopyFromSource fed by a producer in batches. Batches are recycled: pgx
// encodes a row before asking for the next, so a batch is free once the reader moves past it.
type chanSource struct {
	ctx     context.Context
	full    chan [][]any
	free    chan [][]any
	cur     [][]any
	i       int
	fill    [][]any
	aborted chan struct{}
	err     error
}

const batchRows = 2048

func newChanSource(ctx context.Context) *chanSource {
	s := &chanSource{ctx: ctx, full: make(chan [][]any, 4), free: make(chan [][]any, 6), aborted: make(chan struct{})}
	for range 6 {
		s.free <- make([][]any, 0, batchRows)
	}
	s.fill = <-s.free
	return s
}

var errCopyAborted = errors.New("copy reader stopped")

// push appends one row built by build into the current batch.
func (s *chanSource) push(build func([]any) []any) error {
	n := len(s.fill)
	if n < cap(s.fill) {
		s.fill = s.fill[:n+1]
	} else {
		s.fill = append(s.fill, nil)
	}
	s.fill[n] = build(s.fill[n])
	if len(s.fill) < batchRows {
		return nil
	}
	select {
	case s.full <- s.fill:
	case <-s.aborted:
		return errCopyAborted
	case <-s.ctx.Done():
		return s.ctx.Err()
	}
	select {
	case s.fill = <-s.free:
		s.fill = s.fill[:0]
	case <-s.aborted:
		return errCopyAborted
	case <-s.ctx.Done():
		return s.ctx.Err()
	}
	return nil
}

// finish sends the last partial batch and closes the stream.
func (s *chanSource) finish() {
	if len(s.fill) > 0 {
		select {
		case s.full <- s.fill:
		case <-s.aborted:
		case <-s.ctx.Done():
		}
	}
	close(s.full)
}

func (s *chanSource) abort() {
	select {
	case <-s.aborted:
	default:
		close(s.aborted)
	}
}

func (s *chanSource) Next() bool {
	s.i++
	for s.i >= len(s.cur) {
		if s.cur != nil {
			s.free <- s.cur
			s.cur = nil
		}
		select {
		case b, ok := <-s.full:
			if !ok {
				return false
			}
			s.cur, s.i = b, 0
		case <-s.ctx.Done():
			s.err = s.ctx.Err()
			return false
		}
	}
	return true
}

func (s *chanSource) Values() ([]any, error) { return s.cur[s.i], nil }

func (s *chanSource) Err() error { return s.err }
