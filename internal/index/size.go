package index

import "github.com/RoaringBitmap/roaring/v2"

// Bytes estimates the memory the index holds: its column and trait arrays at their capacity,
// dictionaries, bitmaps and record attributes. It is an estimate for operators (the
// segd_index_bytes metric) and for telling the index's growth — every stored event is held
// here by design — from other memory; the Go heap also has map and allocator overheads it does
// not count. It walks every table, column and trait (not every row), under the read lock.
func (ix *Index) Bytes() int64 {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	n := bitmapBytes(ix.live)
	for _, t := range ix.tables {
		n += int64(cap(t.Prof))*4 + int64(cap(t.Time))*8 + bitmapBytes(t.Profiles)
		for name, c := range t.Columns {
			n += int64(len(name)) + c.bytes()
		}
	}
	for name, t := range ix.traits {
		n += int64(len(name)) + t.bytes()
	}
	for _, r := range ix.records {
		n += int64(cap(r.Prof))*4 + int64(cap(r.Time))*8 + int64(cap(r.IDs))*16 + int64(cap(r.Attrs))*8
		for i, id := range r.IDs {
			// the id in the array and in byID with the map's entry, the attributes as given (a
			// small map is about 320 bytes) with their boxed values
			n += 2*int64(len(id)) + 80 + 320 + 24*int64(len(r.Attrs[i]))
		}
		for name, c := range r.Columns {
			n += int64(len(name)) + c.bytes()
		}
	}
	return n
}

// stringsBytes is the memory of a dictionary's texts: each one's header and bytes, counted once
// for the values array and once more for the map's key header.
func stringsBytes(values []string) int64 {
	n := int64(cap(values)) * 16
	for _, s := range values {
		n += int64(len(s)) + 40 // the text and the dictionary map's entry (key header, code, slack)
	}
	return n
}

func (c *Column) bytes() int64 {
	n := int64(cap(c.Codes))*4 + stringsBytes(c.Values) +
		int64(cap(c.Nums))*8 + int64(cap(c.NumSet))*8 +
		int64(cap(c.Times))*8 + int64(cap(c.TimeSet))*8 +
		int64(cap(c.BoolSet))*8 + int64(cap(c.BoolTrue))*8 +
		int64(len(c.others))*64
	return n
}

func (t *Trait) bytes() int64 {
	n := bitmapBytes(t.Present) + bitmapBytes(t.NumPresent) + bitmapBytes(t.TimePresent) +
		bitmapBytes(t.True) + bitmapBytes(t.False) + bitmapBytes(t.GeoPresent) + bitmapBytes(t.OtherPresent) +
		stringsBytes(t.Values) + int64(cap(t.ByCode))*8 +
		t.codes.bytes(4) + t.nums.bytes(8) + t.times.bytes(8) + t.lats.bytes(8) + t.lons.bytes(8) +
		int64(len(t.others))*64
	for _, b := range t.ByCode {
		n += bitmapBytes(b) + bitmapOverhead
	}
	return n
}

func (p *paged[T]) bytes(size int64) int64 {
	n := int64(cap(p.pages)) * 24
	for _, pg := range p.pages {
		n += int64(cap(pg)) * size
	}
	return n
}

// bitmapOverhead is what a small roaring bitmap costs besides its serialized size: the Bitmap
// and container structs and their slices' headers (measured: about 200 bytes for one member).
const bitmapOverhead = 160

func bitmapBytes(b *roaring.Bitmap) int64 {
	if b == nil {
		return 0
	}
	return int64(b.GetSizeInBytes())
}
