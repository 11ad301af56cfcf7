package engine

import (
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/segd/segd/internal/index"
)

// TestSampleHashStable checks the inlined hash against its definition (FNV-1a of name, zero
// byte, id little-endian, then SplitMix64), so the hold-out groups never reshuffle.
func TestSampleHashStable(t *testing.T) {
	def := func(segment string, profile uint32) uint64 {
		h := fnv.New64a()
		h.Write([]byte(segment))
		var b [5]byte
		binary.LittleEndian.PutUint32(b[1:], profile)
		h.Write(b[:])
		x := h.Sum64()
		x ^= x >> 30
		x *= 0xbf58476d1ce4e5b9
		x ^= x >> 27
		x *= 0x94d049bb133111eb
		x ^= x >> 31
		return x
	}
	for _, seg := range []string{"", "sample_sg", "hold-out ünïcode"} {
		for _, p := range []uint32{0, 1, 255, 256, 65535, 1 << 24, 1<<32 - 1} {
			if got, want := SampleHash(seg, p), def(seg, p); got != want {
				t.Errorf("SampleHash(%q, %d) = %x, want %x", seg, p, got, want)
			}
		}
	}
}

// TestMonthDay checks the civil-date arithmetic against package time, across negative times,
// leap days and century years.
func TestMonthDay(t *testing.T) {
	for _, ns := range []int64{0, -1, 1, 951782400e9, 951868799e9 + 999_999_999, -2208988800e9, 4107542400e9, -5e18, 1 << 62, -1 << 62} {
		tm := time.Unix(0, ns).UTC()
		m, d := monthDay(ns)
		if m != int(tm.Month()) || d != tm.Day() {
			t.Errorf("monthDay(%d) = %d-%d, want %v", ns, m, d, tm)
		}
	}
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 100_000; i++ {
		ns := r.Int64() >> 1
		if r.IntN(2) == 0 {
			ns = -ns
		}
		tm := time.Unix(0, ns).UTC()
		if m, d := monthDay(ns); m != int(tm.Month()) || d != tm.Day() {
			t.Fatalf("monthDay(%d) = %d-%d, want %v", ns, m, d, tm)
		}
	}
}

// TestFastPaths runs the specialised scans (distinct by bit masks and by sorted pairs, text
// tests on dictionary codes with and without list rows, geo prefilter, anniversary table)
// against the reference on data shaped to reach each of them.
func TestFastPaths(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	f := &fixture{}
	for p := uint32(1); p <= 300; p++ {
		f.profiles = append(f.profiles, index.Profile{ID: p, Traits: map[string]any{
			"home":     map[string]any{"lat": 10.7 + r.Float64()*0.3, "lon": 106.6 + r.Float64()*0.3},
			"birthday": time.Date(1980+r.IntN(30), time.Month(1+r.IntN(12)), 1+r.IntN(28), 0, 0, 0, 0, time.UTC).Format("2006-01-02"),
		}})
		for i := 0; i < 20; i++ {
			when := ago(time.Duration(r.Int64N(int64(40 * day))))
			f.events = append(f.events,
				track(p, "Big", when, map[string]any{"sku": fmt.Sprintf("sku-%d", r.IntN(150))}),
				track(p, "Small", when, map[string]any{"cat": fmt.Sprintf("c%d", r.IntN(10))}))
			props := map[string]any{"path": []string{"/pricing", "/home", "/pricing/team"}[r.IntN(3)]}
			if r.IntN(10) == 0 {
				props["path"] = []any{"/pricing", "/x"}
			}
			f.events = append(f.events, index.Event{Profile: p, Kind: index.Page, Name: "p", Time: when, Props: props})
		}
	}
	ix := f.index()
	for _, src := range []string{
		`distinct(sku of "Big" in last 30 days) >= 15`,
		`distinct(sku of "Big") >= 20`,
		`distinct(cat of "Small" in last 30 days) >= 8`,
		`distinct(cat of "Small" where cat != "c1") = 9`,
		`count(page where path contains "/pricing") >= 12`,
		`count(page where path starts with "/pricing") >= 10`,
		`home within 10 km of (10.8, 106.7)`,
		`home within 3 mi of (10.8, 106.75)`,
		`birthday anniversary in next 30 days`,
		`birthday anniversary in last 7 days`,
	} {
		if got := evalBoth(t, f, ix, src, at); len(got) == 0 || len(got) == len(f.profiles) {
			t.Errorf("%s: %d members, want a proper subset", src, len(got))
		}
	}
}
