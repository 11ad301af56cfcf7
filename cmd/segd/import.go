package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"runtime/pprof"
	"strings"
	"sync"
	"time"

	"github.com/segd/segd/internal/importer"
	"github.com/segd/segd/internal/ingest"
	"github.com/segd/segd/internal/message"
	"github.com/segd/segd/internal/store"
	"github.com/spf13/cobra"
)

type importFlags struct {
	dataDir   string
	workspace string
	url       string
	key       string
	idColumns []string
	errorsOut string
	batch     int
	recType   string
	cpuProf   string
	logLevel  string
}

func newImportCmd() *cobra.Command {
	var f importFlags
	cmd := &cobra.Command{
		Use:   "import",
		Short: "Import events (JSONL), profiles (CSV) or related records (CSV)",
		Long: `import loads files either directly into a stopped data directory (--data) or into a running
segd (--url and --key: a write key for events and profiles, the admin token for records).
Bad lines are reported with their line numbers (and written to --errors) and do not stop the
import. Re-running the same file imports nothing twice.`,
	}
	cmd.PersistentFlags().StringVar(&f.dataDir, "data", "./segd-data", "data directory of a stopped segd")
	cmd.PersistentFlags().StringVar(&f.workspace, "workspace", "default", "workspace to import into (with --data)")
	cmd.PersistentFlags().StringVar(&f.url, "url", "", "base URL of a running segd, e.g. http://127.0.0.1:8080")
	cmd.PersistentFlags().StringVar(&f.key, "key", "", "write key (events, profiles) or admin token (records) for --url")
	cmd.PersistentFlags().StringArrayVar(&f.idColumns, "id-column", nil, "CSV identifier column: 'email' or 'customer_id=userId' (repeatable)")
	cmd.PersistentFlags().StringVar(&f.errorsOut, "errors", "", "file for rejected lines (default FILE.errors when there are any)")
	cmd.PersistentFlags().IntVar(&f.batch, "batch", 1000, "messages per write")
	cmd.PersistentFlags().StringVar(&f.cpuProf, "cpuprofile", "", "write a Go CPU profile of the import to this file")
	cmd.PersistentFlags().StringVar(&f.logLevel, "log-level", "error", "with --data: least severe log records of the store written to stderr (debug shows its flushes and compactions)")
	events := &cobra.Command{Use: "events FILE.jsonl", Short: "Import Segment messages, one JSON object per line", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return runImport(cmd, f, "events", args[0]) }}
	profiles := &cobra.Command{Use: "profiles FILE.csv", Short: "Import profiles: identifier columns plus traits", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return runImport(cmd, f, "profiles", args[0]) }}
	records := &cobra.Command{Use: "records --type T FILE.csv", Short: "Import related records of a type (id column, identifier columns, attributes)", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return runImport(cmd, f, "records", args[0]) }}
	records.Flags().StringVar(&f.recType, "type", "", "record type, e.g. tickets (required)")
	records.MarkFlagRequired("type")
	cmd.AddCommand(events, profiles, records)
	return cmd
}

// sinks are where an import writes: a local pipeline or a remote server.
type sinks struct {
	importer.Sink
	importer.RecordSink
	close func() error
}

func runImport(cmd *cobra.Command, f importFlags, what, path string) error {
	file, err := os.Open(path)
	if err != nil {
		return err
	}
	defer file.Close()
	st, _ := file.Stat()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if f.cpuProf != "" {
		pf, err := os.Create(f.cpuProf)
		if err != nil {
			return err
		}
		defer pf.Close()
		if err := pprof.StartCPUProfile(pf); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}

	var s sinks
	if f.url != "" {
		s = remoteSinks(f.url, f.key)
	} else {
		logger, err := newLogger(f.logLevel)
		if err != nil {
			return err
		}
		// an offline import is the store's only writer and allocates as fast as serve does
		setMemoryLimit(slog.New(slog.NewTextHandler(io.Discard, nil)))
		s, err = localSinks(f.dataDir, f.workspace, logger)
		if err != nil {
			return err
		}
	}
	defer s.close()

	opts := importer.Options{BatchSize: f.batch, IDColumns: map[string]string{}, Size: st.Size()}
	for _, c := range f.idColumns {
		col, typ, err := importer.ParseIDColumn(c)
		if err != nil {
			return err
		}
		opts.IDColumns[col] = typ
	}
	var errBuf bytes.Buffer
	opts.ErrorsWriter = &errBuf
	pp := importer.NewProgressPrinter(cmd.ErrOrStderr(), what)
	opts.Progress = pp.Update
	start := time.Now()
	var rep importer.Report
	switch what {
	case "events":
		rep, err = importer.Events(ctx, file, s.Sink, opts)
	case "profiles":
		rep, err = importer.Profiles(ctx, file, s, opts)
	case "records":
		rep, err = importer.Records(ctx, file, f.recType, s, opts)
	}
	// an offline import's store runs without a WAL: what it applied is durable only once
	// the store is closed (flushed), so that comes before the report says "imported"
	if cerr := s.close(); cerr != nil {
		pp.Finish(rep)
		cerr = fmt.Errorf("import: %d lines were applied but could not be made durable; run the same import again (it skips what is stored): %w", rep.Imported, cerr)
		return errors.Join(cerr, err) // and why the import itself stopped, if it did
	}
	pp.Finish(rep)
	out := cmd.OutOrStdout()
	fmt.Fprintf(out, "%s: %d lines, %d imported, %d skipped in %s\n", path, rep.Lines, rep.Imported, rep.Skipped, time.Since(start).Round(time.Millisecond))
	if rep.Skipped > 0 {
		errPath := f.errorsOut
		if errPath == "" {
			errPath = path + ".errors"
		}
		if werr := os.WriteFile(errPath, errBuf.Bytes(), 0o644); werr != nil {
			return werr
		}
		for i, e := range rep.Errors {
			if i == 20 {
				fmt.Fprintf(out, "  ... %d more in %s\n", rep.Skipped-20, errPath)
				break
			}
			fmt.Fprintf(out, "  %s\n", e)
		}
		fmt.Fprintf(out, "rejected lines written to %s\n", errPath)
	}
	return err
}

// localSinks write through the real pipeline into a stopped data directory, its store in
// bulk-load mode (no WAL): a batch is applied when its wait returns and durable once close
// has returned.
func localSinks(dir, workspace string, logger *slog.Logger) (sinks, error) {
	st, err := store.Open(store.Options{Dir: dir, BulkLoad: true, Logger: logger})
	if err != nil {
		return sinks{}, fmt.Errorf("%w (if segd serve is running on it, import with --url and --key instead)", err)
	}
	w, err := st.WorkspaceByName(workspace)
	if err != nil {
		if all, _ := st.Workspaces(); len(all) == 0 {
			_, keys, cerr := st.CreateWorkspace(workspace, store.Keys{WriteKey: os.Getenv("SEGD_WRITE_KEY"), AdminToken: os.Getenv("SEGD_ADMIN_TOKEN")})
			if cerr != nil {
				st.Close()
				return sinks{}, cerr
			}
			fmt.Fprintf(os.Stderr, "created workspace %q; keys (shown once): write %s admin %s\n", workspace, keys.WriteKey, keys.AdminToken)
			w, err = st.WorkspaceByName(workspace)
		}
		if err != nil {
			st.Close()
			return sinks{}, fmt.Errorf("workspace %q: %w", workspace, err)
		}
	}
	p, err := ingest.NewPipeline(ingest.Options{Store: st, Logger: logger})
	if err != nil {
		st.Close()
		return sinks{}, err
	}
	l := &localSink{p: p, ws: w.ID}
	// close runs once: runImport calls it to make the import durable, and again on return
	return sinks{Sink: l, RecordSink: l, close: sync.OnceValue(func() error { p.Close(); return st.Close() })}, nil
}

type localSink struct {
	p  *ingest.Pipeline
	ws uint32
}

func (l *localSink) Append(ctx context.Context, msgs []message.Message) error {
	_, err := l.p.Append(ctx, l.ws, msgs)
	return err
}

// AppendAsync lets the import queue the next batch while the previous one is synced.
func (l *localSink) AppendAsync(ctx context.Context, msgs []message.Message) (func() error, error) {
	wait, err := l.p.AppendAsync(ctx, l.ws, msgs)
	if err != nil {
		return nil, err
	}
	return func() error { _, err := wait(); return err }, nil
}

func (l *localSink) UpsertRecords(ctx context.Context, typ string, recs []importer.Record) error {
	in := make([]ingest.RecordInput, len(recs))
	for i, r := range recs {
		in[i] = ingest.RecordInput{Type: typ, ID: r.ID, Identity: r.Profile, Attributes: r.Attributes, Timestamp: r.Timestamp}
		if err := ingest.ValidateRecord(&in[i]); err != nil {
			return fmt.Errorf("record %s: %w", r.ID, err)
		}
	}
	_, err := l.p.UpsertRecords(ctx, l.ws, in)
	return err
}

// remoteSink posts to a running server: /v1/batch for messages, /api/v1/records for records.
type remoteSink struct {
	url, key string
	client   *http.Client
}

func remoteSinks(url, key string) sinks {
	r := &remoteSink{url: strings.TrimRight(url, "/"), key: key, client: &http.Client{Timeout: 60 * time.Second}}
	return sinks{Sink: r, RecordSink: r, close: func() error { return nil }}
}

func (r *remoteSink) Append(ctx context.Context, msgs []message.Message) error {
	lim := message.DefaultLimits()
	var batch []json.RawMessage
	size := 0
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		body, _ := json.Marshal(map[string]any{"batch": batch})
		batch, size = batch[:0], 0
		return r.post(ctx, "/v1/batch", body, true)
	}
	for i := range msgs {
		b, err := msgs[i].WireJSON()
		if err != nil {
			return err
		}
		if len(batch) == lim.MaxBatchMessages || size+len(b)+64 > lim.MaxBatchBytes {
			if err := flush(); err != nil {
				return err
			}
		}
		batch = append(batch, b)
		size += len(b) + 1
	}
	return flush()
}

func (r *remoteSink) UpsertRecords(ctx context.Context, typ string, recs []importer.Record) error {
	type wire struct {
		ID         string            `json:"id"`
		Profile    map[string]string `json:"profile"`
		Attributes map[string]any    `json:"attributes"`
		Timestamp  *time.Time        `json:"timestamp,omitempty"`
	}
	out := make([]wire, len(recs))
	for i, rc := range recs {
		out[i] = wire{ID: rc.ID, Profile: rc.Profile, Attributes: rc.Attributes}
		if !rc.Timestamp.IsZero() {
			t := rc.Timestamp
			out[i].Timestamp = &t
		}
	}
	body, _ := json.Marshal(map[string]any{"records": out})
	return r.post(ctx, "/api/v1/records/"+typ, body, false)
}

// post sends with retries on 5xx and network errors; 4xx is final.
func (r *remoteSink) post(ctx context.Context, path string, body []byte, basic bool) error {
	var last error
	for attempt := 0; attempt < 8; attempt++ {
		if attempt > 0 {
			select {
			case <-time.After(time.Duration(1<<attempt) * 100 * time.Millisecond):
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		req, _ := http.NewRequestWithContext(ctx, "POST", r.url+path, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if basic {
			req.SetBasicAuth(r.key, "")
		} else {
			req.Header.Set("Authorization", "Bearer "+r.key)
		}
		resp, err := r.client.Do(req)
		if err != nil {
			last = err
			continue
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == 200 {
			return nil
		}
		last = fmt.Errorf("%s: %s: %s", path, resp.Status, strings.TrimSpace(string(b)))
		if resp.StatusCode < 500 {
			return last
		}
	}
	return last
}
