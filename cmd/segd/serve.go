package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"
)

func addServeFlags(cmd *cobra.Command, o *appOptions) {
	cmd.Flags().StringVar(&o.DataDir, "data", "./segd-data", "data directory (created if missing)")
	cmd.Flags().StringVar(&o.Addr, "addr", "127.0.0.1:8080", "address to listen on")
	cmd.Flags().StringVar(&o.BackupDir, "backup-dir", "", "directory under which online backups (POST /api/v1/backup) are written; empty: any absolute path")
	cmd.Flags().Float64Var(&o.RateLimit, "rate-limit", 20000, "requests per second per key, with bursts of twice that (429 with Retry-After beyond); 0: unlimited")
	cmd.Flags().BoolVar(&o.AllowPrivateDestinations, "allow-private-destinations", false, "let webhooks of every workspace target loopback, link-local and private addresses (off: refused, against request forgery)")
	cmd.Flags().StringVar(&o.DebugAddr, "debug-addr", "", "serve Go's pprof profiles and POST /debug/store/compact on this address, without authentication (e.g. 127.0.0.1:6060); off by default")
	cmd.Flags().DurationVar(&o.DedupeWindow, "dedupe-window", 7*24*time.Hour, "how long a messageId is remembered to drop retries")
	cmd.Flags().DurationVar(&o.AnalyticsEvery, "analytics-every", 6*time.Hour, "how often computed traits (RFM, churn, CLV, stages) are recomputed; negative: only on demand")
	cmd.Flags().StringVar(&o.LogLevel, "log-level", "info", "least severe log records written to stderr: debug, info, warn or error")
}

// newLogger is the text logger on stderr at the --log-level.
func newLogger(level string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level %q: want debug, info, warn or error", level)
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: l})), nil
}

func newServeCmd() *cobra.Command {
	var o appOptions
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve the tracking API, the management API and the UI",
		RunE: func(cmd *cobra.Command, _ []string) error {
			var err error
			if o.Logger, err = newLogger(o.LogLevel); err != nil {
				return err
			}
			o.Out = cmd.OutOrStdout()
			return runServe(o, nil)
		},
	}
	addServeFlags(cmd, &o)
	return cmd
}

// runServe opens, optionally prepares (demo data), serves until SIGINT/SIGTERM, then closes.
func runServe(o appOptions, prepare func(*app) error) error {
	setMemoryLimit(o.Logger)
	a, err := openApp(o)
	if err != nil {
		return err
	}
	if prepare != nil {
		if err := prepare(a); err != nil {
			a.close()
			return err
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	serveErr := a.serve(ctx)
	o.Logger.Info("shutting down")
	if err := a.close(); err != nil && serveErr == nil {
		return err
	}
	return serveErr
}
