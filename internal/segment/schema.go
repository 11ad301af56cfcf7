package segment

import (
	"github.com/segd/segd/internal/index"
	"github.com/segd/segd/internal/segql/check"
)

// CheckSchema converts the schema discovered by the index into the checker's schema, with the
// computed traits added (check.Schema.WithComputed). segs become the known segments, each with
// the segments its query refers to.
func CheckSchema(s index.Schema, segs []Segment) *check.Schema {
	out := &check.Schema{
		Traits:      make(map[string]check.Field, len(s.Traits)),
		Events:      map[string]check.EventType{},
		RecordTypes: map[string]check.RecordType{},
		Segments:    make(map[string]check.SegmentInfo, len(segs)),
	}
	for _, t := range s.Traits {
		out.Traits[t.Name] = check.Field{Kind: fieldKind(t.Kinds), Count: int64(t.Count)}
	}
	for _, e := range s.Events {
		et := check.EventType{Count: int64(e.Count), Properties: props(e.Properties)}
		switch e.Kind {
		case index.Track.String():
			out.Events[e.Name] = et
		case index.Page.String():
			out.Page = et
		case index.Screen.String():
			out.Screen = et
		}
	}
	for _, r := range s.Records {
		out.RecordTypes[r.Type] = check.RecordType{Count: int64(r.Count), Attributes: props(r.Attributes)}
	}
	for _, seg := range segs {
		out.Segments[seg.Name] = check.SegmentInfo{DependsOn: dependsOn(seg.Query)}
	}
	return out.WithComputed()
}

func props(ps []index.PropertySchema) map[string]check.Field {
	m := make(map[string]check.Field, len(ps))
	for _, p := range ps {
		m[p.Name] = check.Field{Kind: fieldKind(p.Kinds), Count: int64(p.Count)}
	}
	return m
}

// fieldKind picks the most common kind (the index lists them most common first); objects and
// nulls are unknown to the checker.
func fieldKind(kinds []index.KindCount) check.Kind {
	for _, k := range kinds {
		switch k.Kind {
		case index.Text:
			return check.Text
		case index.Number:
			return check.Number
		case index.Bool:
			return check.Bool
		case index.Time:
			return check.Time
		case index.Geo:
			return check.Geo
		case index.List:
			return check.List
		}
	}
	return check.Unknown
}
