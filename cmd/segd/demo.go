package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/segd/segd/internal/demodata"
	"github.com/segd/segd/internal/ingest"
	"github.com/segd/segd/internal/message"
	"github.com/segd/segd/internal/segment"
	"github.com/spf13/cobra"
)

func newDemoCmd() *cobra.Command {
	var o appOptions
	var customers int
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Serve segd with a generated retail data set (created on first run)",
		Long: `demo generates a realistic retail data set (customers, sessions, page and product views,
carts, orders with revenue and discounts, e-mails, support tickets, accounts) over the last six
months into its data directory, defines example segments, and serves it. A second run reuses the
data. The admin token and write key are printed.`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var err error
			if o.Logger, err = newLogger(o.LogLevel); err != nil {
				return err
			}
			o.Out = cmd.OutOrStdout()
			if os.Getenv("SEGD_WRITE_KEY") == "" && os.Getenv("SEGD_ADMIN_TOKEN") == "" {
				// predictable keys for a local demo, so the README's curl lines work as written
				os.Setenv("SEGD_WRITE_KEY", "demo-write-key")
				os.Setenv("SEGD_ADMIN_TOKEN", "demo-admin-token")
				os.Setenv("SEGD_READ_KEY", "demo-read-key")
			}
			return runServe(o, func(a *app) error { return loadDemo(cmd.Context(), a, customers) })
		},
	}
	addServeFlags(cmd, &o)
	cmd.Flags().Lookup("data").DefValue = "./segd-demo-data"
	cmd.Flags().Set("data", "./segd-demo-data")
	cmd.Flags().IntVar(&customers, "customers", 2000, "number of demo customers")
	return cmd
}

// loadDemo fills an empty default workspace with demo data through the real write pipeline.
func loadDemo(ctx context.Context, a *app, customers int) error {
	if ctx == nil {
		ctx = context.Background()
	}
	w, err := a.store.WorkspaceByName("default")
	if err != nil {
		return err
	}
	n, err := a.store.CountEvents(w.ID)
	if err != nil {
		return err
	}
	if n > 0 {
		fmt.Fprintf(a.opts.Out, "demo data already loaded (%d events); serving it\n", n)
		return nil
	}
	opts := demodata.Demo(time.Now().UTC())
	opts.Customers = customers
	fmt.Fprintf(a.opts.Out, "generating demo data: %d customers, %s to %s ...\n", customers,
		opts.Start.Format("2006-01-02"), opts.End.Format("2006-01-02"))
	start := time.Now()
	batch := make([]message.Message, 0, 1000)
	var recs []ingest.RecordInput
	var events int
	flush := func() error {
		if len(batch) > 0 {
			if _, err := a.pipeline.Append(ctx, w.ID, batch); err != nil {
				return err
			}
			events += len(batch)
			batch = batch[:0]
		}
		if len(recs) > 0 {
			if _, err := a.pipeline.UpsertRecords(ctx, w.ID, recs); err != nil {
				return err
			}
			recs = recs[:0]
		}
		return nil
	}
	err = demodata.Stream(ctx, opts, func(m *message.Message) error {
		batch = append(batch, *m)
		if len(batch) == cap(batch) {
			return flush()
		}
		return nil
	}, func(r *demodata.Record) error {
		recs = append(recs, ingest.RecordInput{Type: r.Type, ID: r.ID, Identity: map[string]string{"userId": r.Identity},
			Attributes: r.Attributes, Timestamp: r.Timestamp})
		if len(recs) >= 500 {
			return flush()
		}
		return nil
	})
	if err == nil {
		err = flush()
	}
	if err != nil {
		return fmt.Errorf("load demo data: %w", err)
	}
	fmt.Fprintf(a.opts.Out, "loaded %d demo events in %s\n", events, time.Since(start).Round(time.Millisecond))
	return createDemoSegments(ctx, a, w.ID)
}

// createDemoSegments defines the example segments (they come in dependency order).
func createDemoSegments(ctx context.Context, a *app, ws uint32) error {
	// the checker and sizes read the index: load it before defining segments
	if err := a.views.load(ctx); err != nil {
		return err
	}
	n := 0
	for _, d := range segment.DemoSegments() {
		desc := d.Description
		_, _, err := a.segments.Create(ctx, ws, segment.Input{Name: d.Name, Description: &desc, Query: d.Query, Mode: d.Mode, Tags: d.Tags})
		if errors.Is(err, segment.ErrNameTaken) {
			continue
		}
		if err != nil {
			return fmt.Errorf("demo segment %q: %w", d.Name, err)
		}
		n++
	}
	fmt.Fprintf(a.opts.Out, "defined %d example segments\n", n)
	return nil
}
