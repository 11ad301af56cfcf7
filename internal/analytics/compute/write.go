package compute

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/RoaringBitmap/roaring/v2"
	"github.com/segd/segd/internal/index"
	"github.com/segd/segd/internal/ingest"
)

// TraitWriter persists traits and feeds them to the index and live segments;
// *ingest.Pipeline implements it.
type TraitWriter interface {
	SetTraits(ctx context.Context, ws uint32, at time.Time, updates []ingest.TraitUpdate) ([]uint32, error)
}

// StageLog keeps stage changes in append order; *store.Store implements it.
type StageLog interface {
	AppendLog(ws uint32, name string, entries [][]byte) (uint64, error)
	RecentLog(ws uint32, name string, limit int, fn func(seq uint64, v []byte) (bool, error)) error
}

// StageLogName is the log stage changes go to.
const StageLogName = "analytics-stages"

// StageChange is one profile moving from one stage to another (From empty: first stage;
// To empty: no stage any more).
type StageChange struct {
	Profile uint32    `json:"profile"`
	Trait   string    `json:"trait"` // lifecycle_stage or funnel_stage
	From    string    `json:"from,omitempty"`
	To      string    `json:"to,omitempty"`
	At      time.Time `json:"at"`
}

func sameValue(cur index.Value, v any) bool {
	switch x := v.(type) {
	case nil:
		return cur.Kind == index.None
	case float64:
		return cur.Kind == index.Number && cur.Num == x
	case string:
		return cur.Kind == index.Text && cur.Str == x
	}
	return false
}

// Diff returns the trait updates that bring the index's model traits to res for the
// customers res.Profiles[lo:hi]: the values that differ (unchanged profiles get no update);
// with hi = len(res.Profiles) also the removal of model traits from profiles that are no
// longer customers. Written a chunk at a time, the updates of a million customers are never
// all in memory at once.
func Diff(snap *index.Snapshot, res *Result, lo, hi int) []ingest.TraitUpdate {
	cols := make(map[string]*index.Trait, len(ModelTraits))
	last := hi == len(res.Profiles)
	stale := roaring.New() // profiles holding a model trait
	for _, n := range ModelTraits {
		if t := snap.Trait(n); t != nil {
			cols[n] = t
			if last {
				stale.Or(t.Present)
			}
		}
	}
	if last {
		stale.AndNot(roaring.BitmapOf(res.Profiles...))
	}
	get := func(name string, pid uint32) index.Value {
		if t := cols[name]; t != nil && t.Present.Contains(pid) {
			return t.Get(pid)
		}
		return index.Value{}
	}
	var out []ingest.TraitUpdate
	for i := lo; i < hi; i++ {
		pid := res.Profiles[i]
		want := res.Traits(i)
		var upd map[string]any
		for _, n := range ModelTraits {
			v, ok := want[n]
			if !ok {
				v = nil
			}
			if sameValue(get(n, pid), v) {
				continue
			}
			if upd == nil {
				upd = map[string]any{}
			}
			upd[n] = v
		}
		if upd != nil {
			out = append(out, ingest.TraitUpdate{Profile: pid, Traits: upd})
		}
	}
	it := stale.Iterator()
	for it.HasNext() {
		pid := it.Next()
		upd := map[string]any{}
		for n, t := range cols {
			if t.Present.Contains(pid) {
				upd[n] = nil
			}
		}
		out = append(out, ingest.TraitUpdate{Profile: pid, Traits: upd})
	}
	return out
}

// StageDiff returns the updates that give each live profile the stage of the rule whose set
// holds it (none: the trait is removed), and the stage changes.
func StageDiff(snap *index.Snapshot, trait string, rules []StageRule, sets []*roaring.Bitmap, at time.Time) ([]ingest.TraitUpdate, []StageChange) {
	col := snap.Trait(trait)
	cur := func(pid uint32) string {
		if col == nil || !col.Present.Contains(pid) {
			return ""
		}
		return col.Get(pid).Str
	}
	var ups []ingest.TraitUpdate
	var chs []StageChange
	assigned := roaring.New()
	for i, set := range sets {
		stage := rules[i].Stage
		assigned.Or(set)
		it := set.Iterator()
		for it.HasNext() {
			pid := it.Next()
			if old := cur(pid); old != stage {
				ups = append(ups, ingest.TraitUpdate{Profile: pid, Traits: map[string]any{trait: stage}})
				chs = append(chs, StageChange{Profile: pid, Trait: trait, From: old, To: stage, At: at})
			}
		}
	}
	if col != nil {
		gone := roaring.AndNot(col.Present, assigned)
		it := gone.Iterator()
		for it.HasNext() {
			pid := it.Next()
			ups = append(ups, ingest.TraitUpdate{Profile: pid, Traits: map[string]any{trait: nil}})
			chs = append(chs, StageChange{Profile: pid, Trait: trait, From: cur(pid), At: at})
		}
	}
	return ups, chs
}

// writeBatch is how many profiles go into one SetTraits call.
const writeBatch = 10000

func writeUpdates(ctx context.Context, w TraitWriter, ws uint32, at time.Time, ups []ingest.TraitUpdate) error {
	for len(ups) > 0 {
		n := min(len(ups), writeBatch)
		if _, err := w.SetTraits(ctx, ws, at, ups[:n]); err != nil {
			return fmt.Errorf("compute: writing traits: %w", err)
		}
		ups = ups[n:]
	}
	return nil
}

func logStages(l StageLog, ws uint32, chs []StageChange) error {
	for len(chs) > 0 {
		n := min(len(chs), writeBatch)
		entries := make([][]byte, n)
		for i, c := range chs[:n] {
			b, err := json.Marshal(c)
			if err != nil {
				return err
			}
			entries[i] = b
		}
		if _, err := l.AppendLog(ws, StageLogName, entries); err != nil {
			return fmt.Errorf("compute: logging stage changes: %w", err)
		}
		chs = chs[n:]
	}
	return nil
}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }
