package index

// RecordTable holds the related records of one type (tickets, accounts, cards, ...) as
// parallel arrays. Row order is arbitrary: upserts replace in place and deletes move the last
// row into the hole. Attribute values are kept as given (Attrs) and also classified into
// Columns, typed per row like event properties, which the engine scans; every column array
// that exists has Len() entries.
type RecordTable struct {
	Type    string
	IDs     []string
	Prof    []uint32
	Time    []int64 // Unix nanoseconds UTC
	Attrs   []map[string]any
	Columns map[string]*Column

	byID map[string]int
}

// Len returns the number of records.
func (r *RecordTable) Len() int { return len(r.IDs) }

func newRecordTable(typ string) *RecordTable {
	return &RecordTable{Type: typ, byID: map[string]int{}, Columns: map[string]*Column{}}
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
		for _, c := range r.Columns {
			c.clearRow(i)
		}
		r.setColumns(i, attrs)
		return
	}
	i := len(r.IDs)
	r.byID[rec.ID] = i
	r.IDs = append(r.IDs, rec.ID)
	r.Prof = append(r.Prof, rec.Profile)
	r.Time = append(r.Time, rec.Time.UnixNano())
	r.Attrs = append(r.Attrs, attrs)
	r.setColumns(i, attrs)
	for _, c := range r.Columns {
		c.pad(len(r.IDs))
	}
}

func (r *RecordTable) setColumns(row int, attrs map[string]any) {
	for k, v := range attrs {
		c := r.Columns[k]
		if c == nil {
			c = &Column{Name: k}
			r.Columns[k] = c
		}
		c.set(row, Classify(v))
	}
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
	for _, c := range r.Columns {
		c.clearRow(i)
		if i != last {
			c.set(i, c.Get(last))
			c.clearRow(last)
		}
		c.truncate(last)
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
