package main

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/segd/segd/internal/demodata"
	"github.com/segd/segd/internal/index"
	"github.com/segd/segd/internal/message"
	"github.com/segd/segd/internal/store"
)

var (
	loadStoreOnce  sync.Once
	loadStore      *store.Store
	loadStoreErr   error
	loadEventCount int
)

// benchStore writes demodata (SEGD_BENCH_CUSTOMERS customers, default 5,000) into a store
// in a temporary directory once per test binary.
func benchStore(b *testing.B) (*store.Store, int) {
	loadStoreOnce.Do(func() {
		n := 5000
		if s := os.Getenv("SEGD_BENCH_CUSTOMERS"); s != "" {
			n, _ = strconv.Atoi(s)
		}
		dir, err := os.MkdirTemp("", "segd-load-bench")
		if err != nil {
			loadStoreErr = err
			return
		}
		st, err := store.Open(store.Options{Dir: filepath.Join(dir, "data")})
		if err != nil {
			loadStoreErr = err
			return
		}
		opts := demodata.OneM(demodata.DefaultEnd)
		opts.Customers, opts.Workers = n, runtime.GOMAXPROCS(0)
		var cur *demodata.Customer
		txn := st.Begin()
		pending := 0
		err = demodata.Generate(context.Background(), opts, demodata.Sink{
			Customer: func(c *demodata.Customer) error { cur = c; return nil },
			Event: func(r *demodata.EventRow) error {
				if _, err := txn.AppendEvent(1, r.Customer+1, r.Message(cur, opts.Seed)); err != nil {
					return err
				}
				loadEventCount++
				if pending++; pending == 20_000 {
					if err := txn.Commit(); err != nil {
						return err
					}
					txn, pending = st.Begin(), 0
				}
				return nil
			},
		})
		if err == nil {
			err = txn.Commit()
		}
		if err == nil {
			// a restarted server reads a settled store: keep compactions out of the timing
			err = st.DB().Compact(context.Background(), []byte{0}, []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, true)
		}
		loadStore, loadStoreErr = st, err
	})
	if loadStoreErr != nil {
		b.Fatal(loadStoreErr)
	}
	return loadStore, loadEventCount
}

// BenchmarkLoadIndex times the index rebuild from the store (scan, decode, insert, sort).
func BenchmarkLoadIndex(b *testing.B) {
	st, n := benchStore(b)
	for _, l := range []struct {
		name string
		load func(*store.Store, uint32, *index.Index) error
	}{{"parallel", loadIndex}, {"sequential-full-decode", loadIndexSequential}} {
		b.Run(l.name, func(b *testing.B) { benchLoad(b, st, n, l.load) })
	}
}

// loadIndexSequential is the loader before the parallel partial decode (every message fully
// decoded, converted with FromMessage, inserted on one goroutine), kept as the baseline.
func loadIndexSequential(st *store.Store, ws uint32, ix *index.Index) error {
	batch := make([]index.Event, 0, 4096)
	err := st.ScanEvents(ws, func(pid uint32, _ uint64, m *message.Message) error {
		if e, ok := index.FromMessage(pid, m); ok {
			batch = append(batch, e)
		}
		if len(batch) == cap(batch) {
			ix.AddEvents(batch)
			batch = batch[:0]
		}
		return nil
	})
	ix.AddEvents(batch)
	return err
}

func benchLoad(b *testing.B, st *store.Store, n int, load func(*store.Store, uint32, *index.Index) error) {
	b.ReportAllocs()
	start, cpu0 := time.Now(), cpuTime()
	for i := 0; i < b.N; i++ {
		ix := index.New()
		if err := load(st, 1, ix); err != nil {
			b.Fatal(err)
		}
		ix.Acquire().Release()
	}
	total := float64(n) * float64(b.N)
	b.ReportMetric(total/time.Since(start).Seconds()/1e6, "Mevents/s")
	// The machine is shared: events per CPU-second of this process is the steadier figure.
	b.ReportMetric(total/(cpuTime()-cpu0).Seconds()/1e6, "Mevents/cpu-s")
}

// cpuTime is the user plus system CPU time of this process so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
