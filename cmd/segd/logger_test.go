package main

import (
	"context"
	"log/slog"
	"strings"
	"testing"
)

// TestLogLevel: --log-level takes the four slog levels and refuses anything else clearly.
func TestLogLevel(t *testing.T) {
	for level, want := range map[string]slog.Level{"debug": slog.LevelDebug, "info": slog.LevelInfo, "WARN": slog.LevelWarn, "error": slog.LevelError} {
		l, err := newLogger(level)
		if err != nil {
			t.Fatalf("%s: %v", level, err)
		}
		if !l.Enabled(context.Background(), want) || (want > slog.LevelDebug && l.Enabled(context.Background(), want-4)) {
			t.Errorf("%s: the logger does not start at %v", level, want)
		}
	}
	if _, err := newLogger("loud"); err == nil || !strings.Contains(err.Error(), "want debug, info, warn or error") {
		t.Fatalf("--log-level loud: %v", err)
	}
}
