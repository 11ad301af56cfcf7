package main

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"time"

	"github.com/RoaringBitmap/roaring/v2"
	duckdb "github.com/duckdb/duckdb-go/v2"

	"github.com/segd/segd/internal/demodata"
)

// duckEngine is DuckDB in process, in memory, loaded through its Appender.
type duckEngine struct {
	db   *sql.DB
	conn *sql.Conn
}

func openDuck(ctx context.Context) (*duckEngine, error) {
	db, err := sql.Open("duckdb", "")
	if err != nil {
		return nil, fmt.Errorf("open duckdb: %w", err)
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("duckdb connection: %w", err)
	}
	return &duckEngine{db: db, conn: conn}, nil
}

func (d *duckEngine) Name() string { return "duckdb" }

func (d *duckEngine) Close() error {
	d.conn.Close()
	return d.db.Close()
}

// Load creates the tables and appends the generated data.
func (d *duckEngine) Load(ctx context.Context, opts demodata.Options) (time.Duration, error) {
	start := time.Now()
	for _, ddl := range []string{ddlProfiles, ddlEvents, ddlRecords} {
		if _, err := d.conn.ExecContext(ctx, ddl); err != nil {
			return 0, fmt.Errorf("duckdb ddl: %w", err)
		}
	}
	err := d.conn.Raw(func(raw any) error {
		dc := raw.(driver.Conn)
		apps := map[string]*duckdb.Appender{}
		for _, t := range []string{"profiles", "events", "records"} {
			a, err := duckdb.NewAppenderFromConn(dc, "", t)
			if err != nil {
				return fmt.Errorf("duckdb appender %s: %w", t, err)
			}
			apps[t] = a
		}
		row := make([]any, 0, 20)
		vals := make([]driver.Value, 0, 20)
		appendRow := func(a *duckdb.Appender, r []any) error {
			vals = vals[:0]
			for _, v := range r {
				vals = append(vals, v)
			}
			return a.AppendRow(vals...)
		}
		err := demodata.Generate(ctx, opts, demodata.Sink{
			Customer: func(c *demodata.Customer) error { row = profileRow(c, row); return appendRow(apps["profiles"], row) },
			Event: func(r *demodata.EventRow) error {
				var ok bool
				if row, ok = eventRow(r, row); !ok {
					return nil
				}
				return appendRow(apps["events"], row)
			},
			Record: func(r *demodata.Record) error { row = recordRow(r, row); return appendRow(apps["records"], row) },
		})
		for t, a := range apps {
			if cerr := a.Close(); cerr != nil && err == nil {
				err = fmt.Errorf("duckdb appender %s close: %w", t, cerr)
			}
		}
		return err
	})
	return time.Since(start), err
}

func (d *duckEngine) Run(ctx context.Context, s Segment, at string) (*roaring.Bitmap, error) {
	return queryIDs(ctx, d.conn, s.SQL("duckdb", at))
}

// queryIDs runs q and collects the id column.
func queryIDs(ctx context.Context, conn *sql.Conn, q string) (*roaring.Bitmap, error) {
	rows, err := conn.QueryContext(ctx, q)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	bm := roaring.New()
	var id int64
	for rows.Next() {
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		bm.Add(uint32(id))
	}
	return bm, rows.Err()
}
