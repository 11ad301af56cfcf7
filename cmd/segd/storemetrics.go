package main

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/segd/segd/internal/store"
)

// storeCollector exports the storage engine's figures.
type storeCollector struct{ st *store.Store }

var (
	descBlockCache = prometheus.NewDesc("segd_store_block_cache_bytes",
		"Memory the store's block cache holds (it fills up to its size, 256 MiB by default; on the Go heap).", nil, nil)
	descMemtables = prometheus.NewDesc("segd_store_memtable_bytes",
		"Memory of the store's memtables: the active one and those waiting to be flushed (on the Go heap).", nil, nil)
	descDisk        = prometheus.NewDesc("segd_store_disk_bytes", "Disk space the store uses.", nil, nil)
	descCompactions = prometheus.NewDesc("segd_store_compactions_total", "Compactions since the store was opened.", nil, nil)
	descReadAmp     = prometheus.NewDesc("segd_store_read_amplification", "Sorted runs a point read may have to look at.", nil, nil)
	descDebt        = prometheus.NewDesc("segd_store_compaction_debt_bytes",
		"Bytes compactions must still rewrite to bring the store's LSM tree back in shape (estimated).", nil, nil)
	descCompacting = prometheus.NewDesc("segd_store_compactions_running", "Compactions in progress.", nil, nil)
	descWritten    = prometheus.NewDesc("segd_store_written_bytes_total", "Bytes of the writes committed to the store (write-ahead log input).", nil, nil)
	descFlushed    = prometheus.NewDesc("segd_store_flushed_bytes_total", "Table bytes the store's memtable flushes wrote.", nil, nil)
	descCompacted  = prometheus.NewDesc("segd_store_compacted_bytes_total", "Table bytes the store's compactions wrote.", nil, nil)
	descStalls     = prometheus.NewDesc("segd_store_write_stalls_total", "Times the store held writes back until flushes or compactions caught up.", nil, nil)
	descStallTime  = prometheus.NewDesc("segd_store_write_stall_seconds_total", "Time writes were held back (ended stalls).", nil, nil)
	descDedupeSkip = prometheus.NewDesc("segd_store_dedupe_reads_saved_total",
		"Dedupe checks of a messageId the in-memory filter answered (absent) without reading the store.", nil, nil)
	descSharedTexts = prometheus.NewDesc("segd_store_shared_texts",
		"Context members (user agents, libraries, ...) stored once and referred to by events, all workspaces.", nil, nil)
	descWALSyncs = prometheus.NewDesc("segd_store_wal_sync_seconds",
		"Latency of the store's write-ahead log syncs; every acknowledged write waits for one.", nil, nil)
	descFullDicts = prometheus.NewDesc("segd_store_full_text_dictionaries",
		"Workspaces whose dictionary of shared context members is full (65,536): new members are stored in every event again.", nil, nil)
)

func (c storeCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descBlockCache, descMemtables, descDisk, descCompactions, descReadAmp, descDebt, descCompacting, descWritten, descFlushed, descCompacted, descDedupeSkip, descStalls, descStallTime, descSharedTexts, descFullDicts, descWALSyncs} {
		ch <- d
	}
}

func (c storeCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.st.Stats()
	ch <- prometheus.MustNewConstMetric(descBlockCache, prometheus.GaugeValue, float64(s.BlockCacheBytes))
	ch <- prometheus.MustNewConstMetric(descMemtables, prometheus.GaugeValue, float64(s.MemtableBytes))
	ch <- prometheus.MustNewConstMetric(descDisk, prometheus.GaugeValue, float64(s.DiskBytes))
	ch <- prometheus.MustNewConstMetric(descCompactions, prometheus.CounterValue, float64(s.Compactions))
	ch <- prometheus.MustNewConstMetric(descReadAmp, prometheus.GaugeValue, float64(s.ReadAmp))
	ch <- prometheus.MustNewConstMetric(descDebt, prometheus.GaugeValue, float64(s.CompactionDebt))
	ch <- prometheus.MustNewConstMetric(descCompacting, prometheus.GaugeValue, float64(s.CompactionsRunning))
	ch <- prometheus.MustNewConstMetric(descWritten, prometheus.CounterValue, float64(s.WrittenBytes))
	ch <- prometheus.MustNewConstMetric(descFlushed, prometheus.CounterValue, float64(s.FlushedBytes))
	ch <- prometheus.MustNewConstMetric(descCompacted, prometheus.CounterValue, float64(s.CompactedBytes))
	ch <- prometheus.MustNewConstMetric(descDedupeSkip, prometheus.CounterValue, float64(s.DedupeReadsSaved))
	ch <- prometheus.MustNewConstMetric(descStalls, prometheus.CounterValue, float64(s.WriteStalls))
	ch <- prometheus.MustNewConstMetric(descStallTime, prometheus.CounterValue, s.WriteStallTime.Seconds())
	ch <- prometheus.MustNewConstMetric(descSharedTexts, prometheus.GaugeValue, float64(s.SharedTexts))
	ch <- prometheus.MustNewConstMetric(descFullDicts, prometheus.GaugeValue, float64(s.FullTextDictionaries))
	buckets := make(map[float64]uint64, len(s.WALSyncs.Bounds))
	for i, b := range s.WALSyncs.Bounds {
		buckets[b] = s.WALSyncs.Counts[i]
	}
	ch <- prometheus.MustNewConstHistogram(descWALSyncs, s.WALSyncs.Count, s.WALSyncs.Sum, buckets)
}
