package main

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/pprof"
	"time"

	"github.com/segd/segd/internal/store"
)

// debugMux serves Go's profiles and operator tools (only on the separate --debug-addr
// listener, which has no authentication: bind it to loopback).
//
// POST /debug/store/compact flushes the store and compacts every key into the bottom level
// (store.CompactAll), answering {"seconds": …} when done: the store then owes no compaction
// for earlier writes (after a large import, or between benchmark phases).
func debugMux(st *store.Store, log *slog.Logger) *http.ServeMux {
	m := http.NewServeMux()
	m.HandleFunc("/debug/pprof/", pprof.Index)
	m.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	m.HandleFunc("/debug/pprof/profile", pprof.Profile)
	m.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	m.HandleFunc("/debug/pprof/trace", pprof.Trace)
	m.HandleFunc("POST /debug/store/compact", func(w http.ResponseWriter, r *http.Request) {
		t0 := time.Now()
		w.Header().Set("Content-Type", "application/json")
		if err := st.CompactAll(r.Context()); err != nil {
			log.Error("debug: compacting the store", "err", err)
			w.WriteHeader(http.StatusInternalServerError)
			json.NewEncoder(w).Encode(map[string]any{"error": map[string]string{"code": "compact_failed", "message": err.Error()}})
			return
		}
		log.Info("debug: store compacted", "took", time.Since(t0).Round(time.Millisecond))
		json.NewEncoder(w).Encode(map[string]float64{"seconds": time.Since(t0).Seconds()})
	})
	return m
}
