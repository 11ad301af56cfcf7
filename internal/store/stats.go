package store

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// Stats are the storage engine's figures for /metrics.
type Stats struct {
	// BlockCacheBytes is the memory the block cache holds (it fills up to Options.CacheBytes).
	BlockCacheBytes int64
	// MemtableBytes is the memory of the memtables (the active one and those waiting to be
	// flushed).
	MemtableBytes int64
	// DiskBytes is the disk space the store uses.
	DiskBytes int64
	// Compactions counts the compactions since the store was opened.
	Compactions int64
	// ReadAmp is the number of sorted runs a point read may have to look at.
	ReadAmp int
	// CompactionDebt estimates the bytes compactions must still rewrite to bring the LSM tree
	// back in shape; CompactionsRunning counts the compactions in progress.
	CompactionDebt     uint64
	CompactionsRunning int64
	// WrittenBytes counts the bytes of the writes committed (as the write-ahead log takes
	// them), FlushedBytes and CompactedBytes the table bytes flushes and compactions wrote, since
	// the store was opened: their ratio is the write amplification.
	WrittenBytes, FlushedBytes, CompactedBytes uint64
	// DedupeReadsSaved counts the dedupe checks the in-memory filter answered without reading
	// the store (seenfilter.go).
	DedupeReadsSaved int64
	// SharedTexts counts the shared context members stored for all workspaces, and
	// FullTextDictionaries the workspaces whose dictionary is full (contextrefs.go): their new
	// members are stored in each event again.
	SharedTexts, FullTextDictionaries int
	// WriteStalls counts the times the storage engine held writes back (memtables waiting to be
	// flushed, too many files in L0) and WriteStallTime their total length (ended stalls).
	WriteStalls    int64
	WriteStallTime time.Duration
	// WALSyncs is the latency histogram of the write-ahead log's syncs since the store was
	// opened (none with Options.BulkLoad): every acknowledged write waits for one, so a disk
	// whose syncs stall shows here first.
	WALSyncs Histogram
}

// Histogram is a latency histogram in seconds: Counts[i] syncs took at most Bounds[i]
// (cumulative), Count in all, Sum seconds in all.
type Histogram struct {
	Bounds []float64
	Counts []uint64
	Count  uint64
	Sum    float64
}

// walSyncBounds are the upper bounds (seconds) the WAL sync histogram is reported at: a
// subset of the storage engine's own buckets, whose cumulative counts are exact at them.
var walSyncBounds = []float64{0.0001, 0.0002, 0.0005, 0.001, 0.002, 0.005}

// walSyncHistogram reads the storage engine's WAL fsync histogram (nanoseconds) as seconds,
// at walSyncBounds and at every second one of the engine's bounds above 5 ms (those grow by
// about 17% each: 5, 6.8, 9.3, 12.7 ms, ...).
func walSyncHistogram(h prometheus.Histogram) Histogram {
	var m dto.Metric
	if h == nil || h.Write(&m) != nil || m.Histogram == nil {
		return Histogram{}
	}
	out := Histogram{Count: m.Histogram.GetSampleCount(), Sum: m.Histogram.GetSampleSum() / 1e9}
	next := 0
	for i, b := range m.Histogram.GetBucket() {
		sec := b.GetUpperBound() / 1e9
		keep := false
		switch {
		case next < len(walSyncBounds) && sec >= walSyncBounds[next]-1e-12 && sec <= walSyncBounds[next]+1e-12:
			keep = true
			next++
		case sec > walSyncBounds[len(walSyncBounds)-1]+1e-12 && i%2 == 0:
			keep = true
		}
		if keep {
			out.Bounds = append(out.Bounds, sec)
			out.Counts = append(out.Counts, b.GetCumulativeCount())
		}
	}
	return out
}

// Stats returns the storage engine's current figures. In a build without cgo the block cache
// and the memtables live on the Go heap, so they count in its live bytes.
func (s *Store) Stats() Stats {
	m := s.db.Metrics()
	total := m.Total()
	texts, full := s.texts.count()
	return Stats{SharedTexts: texts, FullTextDictionaries: full, BlockCacheBytes: m.BlockCache.Size, MemtableBytes: int64(m.MemTable.Size),
		DiskBytes: int64(m.DiskSpaceUsage()), Compactions: m.Compact.Count, ReadAmp: m.ReadAmp(),
		CompactionDebt: m.Compact.EstimatedDebt, CompactionsRunning: m.Compact.NumInProgress,
		WrittenBytes: m.WAL.BytesIn, FlushedBytes: total.TableBytesFlushed, CompactedBytes: total.TableBytesCompacted,
		DedupeReadsSaved: s.filter.skipped.Load(), WriteStalls: s.stalls.count.Load(), WriteStallTime: time.Duration(s.stalls.nanos.Load()),
		WALSyncs: walSyncHistogram(m.LogWriter.FsyncLatency)}
}
