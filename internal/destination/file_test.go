package destination

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"testing"
	"time"
)

func TestFileDestination(t *testing.T) {
	for _, format := range []string{"jsonl", "csv"} {
		t.Run(format, func(t *testing.T) {
			e := newEnv(t)
			dir := t.TempDir()
			e.put(Config{ID: "f", Kind: TypeFile, BatchSize: 7, Linger: Duration(time.Millisecond), Traits: []string{"plan"},
				File: &FileConfig{Dir: dir, Format: format, RollBytes: 1500}})
			const n = 60
			for i := 0; i < n; i++ {
				e.feed.add(e.ws, uint32(i%4+1), "s", "seg", KindEnter)
			}
			waitFor(t, "cursor at head", 5*time.Second, func() bool {
				st, _ := e.m.Status(t.Context(), e.ws, "f")
				return st.Cursor == n
			})
			// Files in name order hold the changes in feed order.
			names, _ := filepath.Glob(filepath.Join(dir, "f-*."+format))
			sort.Strings(names)
			if len(names) < 2 {
				t.Fatalf("%d files, want rolled files", len(names))
			}
			var seqs []uint64
			for _, name := range names {
				f, err := os.Open(name)
				if err != nil {
					t.Fatal(err)
				}
				if format == "jsonl" {
					sc := bufio.NewScanner(f)
					for sc.Scan() {
						var d Delivery
						if err := json.Unmarshal(sc.Bytes(), &d); err != nil {
							t.Fatalf("%s: %v", name, err)
						}
						if d.ID != ChangeID(e.ws, d.Seq) || d.Profile.Traits["plan"] == nil {
							t.Fatalf("line %+v", d)
						}
						seqs = append(seqs, d.Seq)
					}
				} else {
					rows, err := csv.NewReader(f).ReadAll()
					if err != nil {
						t.Fatalf("%s: %v", name, err)
					}
					if len(rows) < 2 || rows[0][0] != "id" || len(rows[0]) != len(csvHeader) {
						t.Fatalf("%s: header %v", name, rows[0])
					}
					for _, r := range rows[1:] {
						seq, _ := strconv.ParseUint(r[1], 10, 64)
						if r[0] != ChangeID(e.ws, seq) || r[4] != KindEnter {
							t.Fatalf("row %v", r)
						}
						seqs = append(seqs, seq)
					}
				}
				f.Close()
			}
			if len(seqs) != n {
				t.Fatalf("%d changes in files, want %d", len(seqs), n)
			}
			for i, s := range seqs {
				if s != uint64(i+1) {
					t.Fatalf("change %d is seq %d: files out of order", i, s)
				}
			}
		})
	}
}
