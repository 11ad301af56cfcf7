package index

// RecordTable holds the related records of one type (tickets, accounts, cards, ...) as
// parallel arrays. Row order is arbitrary: upserts replace in place and deletes move the last
// row into the hole. Attribute values are kept as given and classified by the reader, because
// records are few compared with events and change in place.
type RecordTable struct {
	Type  string
	IDs   []string
	Prof  []uint32
	Time  []int64 // Unix nanoseconds UTC
	Attrs []map[string]any

	byID map[string]int
}

// Len returns the number of records.
func (r *RecordTable) Len() int { return len(r.IDs) }

func newRecordTable(typ string) *RecordTable {
	return &RecordTable{Type: typ, byID: map[string]int{}}
}

func (r *RecordTable) upsert(rec *Record) {
	attrs := make(map[string]any, len(rec.Attrs))
	for k, v := range rec.Attrs {
		if v != nil {
			attrs[k] = v
		}
	}
	if i, ok := r.byID[rec.ID]; ok {
		r.Prof[i], r.Time[i], r.Attrs[i] = rec.Profile, rec.Time.UnixNano(), attrs
		return
	}
	r.byID[rec.ID] = len(r.IDs)
	r.IDs = append(r.IDs, rec.ID)
	r.Prof = append(r.Prof, rec.Profile)
	r.Time = append(r.Time, rec.Time.UnixNano())
	r.Attrs = append(r.Attrs, attrs)
}

func (r *RecordTable) delete(id string) bool {
	i, ok := r.byID[id]
	if !ok {
		return false
	}
	last := len(r.IDs) - 1
	if i != last {
		r.IDs[i], r.Prof[i], r.Time[i], r.Attrs[i] = r.IDs[last], r.Prof[last], r.Time[last], r.Attrs[last]
		r.byID[r.IDs[i]] = i
	}
	r.IDs, r.Prof, r.Time, r.Attrs = r.IDs[:last], r.Prof[:last], r.Time[:last], r.Attrs[:last]
	delete(r.byID, id)
	return true
}

func (r *RecordTable) attrKinds() []PropertySchema {
	type acc struct {
		total int
		kinds map[ValueKind]int
	}
	m := map[string]*acc{}
	for _, attrs := range r.Attrs {
		for k, v := range attrs {
			a := m[k]
			if a == nil {
				a = &acc{kinds: map[ValueKind]int{}}
				m[k] = a
			}
			a.total++
			a.kinds[Classify(v).Kind]++
		}
	}
	out := make([]PropertySchema, 0, len(m))
	for name, a := range m {
		ps := PropertySchema{Name: name, Count: a.total}
		for k := Text; k <= Object; k++ {
			if n := a.kinds[k]; n > 0 {
				ps.Kinds = append(ps.Kinds, KindCount{Kind: k, Count: n})
			}
		}
		out = append(out, ps)
	}
	return out
}
