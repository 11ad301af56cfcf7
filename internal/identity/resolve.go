package identity

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/segd/segd/internal/message"
	"github.com/segd/segd/internal/store"
)

// Txn is what resolution reads and writes; *store.Txn satisfies it.
type Txn interface {
	Profile(ws, pid uint32) (*store.Profile, error)
	MarkDirty(ws uint32, p *store.Profile)
	NewProfile(ws uint32, now time.Time) (*store.Profile, error)
	LookupIdentifier(ws uint32, typ, value string) (uint32, error)
	SetIdentifier(ws uint32, typ, value string, pid uint32) error
	MoveEvents(ws, from, into uint32) (int64, error)
	ProfileRecords(ws, pid uint32) ([][2]string, error)
	Record(ws uint32, typ, id string) (*store.Record, error)
	PutRecord(ws uint32, r *store.Record) (old *store.Record, err error)
	AppendMerge(ws uint32, m *store.Merge) error
	Suppressed(ws uint32, typ, value string) (bool, error)
}

// ID is one identifier carried by a message.
type ID struct {
	Type, Value string
}

// Extract returns the message's identifiers, normalised, without blocked values, in priority
// order. For alias the previousId is returned separately: it may be a former userId or an
// anonymousId.
func (r Rules) Extract(m *message.Message) (ids []ID, previous string) {
	add := func(typ, value string) {
		if typ == Email {
			value = NormalizeEmail(value)
		} else if typ == Phone {
			value = NormalizePhone(value)
		}
		if value == "" || r.IsBlocked(value) {
			return
		}
		for _, x := range ids {
			if x.Type == typ && x.Value == value {
				return
			}
		}
		ids = append(ids, ID{typ, value})
	}
	add(UserID, m.UserID)
	add(AnonymousID, m.AnonymousID)
	if m.Type != message.Group { // a group call's traits describe the group, not the person
		traits := m.IdentityTraits()
		if s, ok := traits["email"].(string); ok {
			add(Email, s)
		}
		if s, ok := traits["phone"].(string); ok {
			add(Phone, s)
		}
		// context.externalIds: [{"id": "...", "type": "customer_id", ...}] (Segment's form;
		// the CSV importer uses it for --id-column mappings to external types)
		if list, ok := m.Context["externalIds"].([]any); ok {
			for _, x := range list {
				o, _ := x.(map[string]any)
				typ, _ := o["type"].(string)
				var val string
				switch v := o["id"].(type) {
				case string:
					val = v
				case float64:
					val = fmt.Sprint(v)
				}
				if typ != "" && val != "" {
					add(typ, val)
				}
			}
		}
		for _, ext := range r.External {
			switch v := traits[ext].(type) {
			case string:
				add(ext, v)
			case float64:
				add(ext, fmt.Sprint(v))
			}
		}
	}
	if len(ids) > 1 { // most messages carry one identifier
		slices.SortStableFunc(ids, func(a, b ID) int { return r.rank(a.Type) - r.rank(b.Type) })
	}
	if m.Type == message.Alias && !r.IsBlocked(m.PreviousID) {
		previous = m.PreviousID
	}
	return ids, previous
}

// Result says where a message went.
type Result struct {
	Profile    uint32
	Created    bool
	Suppressed bool          // an identifier is on the block-list: the message must be dropped
	Merges     []store.Merge // merges this message caused, in order
}

// Resolver applies Rules inside a Txn.
type Resolver struct {
	Rules Rules
}

// Resolve finds or creates the profile of message m, merging profiles its identifiers link
// when the rules allow, and attaching its new identifiers.
func (res *Resolver) Resolve(tx Txn, ws uint32, m *message.Message, now time.Time) (Result, error) {
	ids, previous := res.Rules.Extract(m)
	for _, id := range ids {
		sup, err := tx.Suppressed(ws, id.Type, id.Value)
		if err != nil {
			return Result{}, err
		}
		if sup {
			return Result{Suppressed: true}, nil
		}
	}
	if previous != "" {
		// alias: previousId is whatever identifier it was, preferring a known userId.
		typ := AnonymousID
		if _, err := tx.LookupIdentifier(ws, UserID, previous); err == nil {
			typ = UserID
		}
		if typ != UserID || len(ids) == 0 || ids[0].Type != UserID || ids[0].Value != previous {
			ids = append(ids, ID{typ, previous})
		}
	}
	if len(ids) == 0 {
		return Result{}, fmt.Errorf("identity: message %s carries no usable identifier (all blocked)", m.MessageID)
	}
	owners := make([]uint32, len(ids)) // 0 = unowned
	for i, id := range ids {
		pid, err := tx.LookupIdentifier(ws, id.Type, id.Value)
		switch {
		case errors.Is(err, store.ErrNotFound):
		case err != nil:
			return Result{}, err
		default:
			owners[i] = pid
		}
	}

	if owned(owners) {
		// Every identifier is already the profile's (most messages): nothing to merge or
		// attach, and the profile need not be read.
		return Result{Profile: owners[0]}, nil
	}
	var out Result
	var primary *store.Profile
	if owners[0] != 0 {
		p, err := tx.Profile(ws, owners[0])
		if err != nil {
			return Result{}, err
		}
		primary = p
	} else {
		// The top identifier is new: it joins the first matched profile if the rules allow,
		// otherwise it starts a profile of its own.
		for i := range ids {
			if owners[i] == 0 {
				continue
			}
			p, err := tx.Profile(ws, owners[i])
			if err != nil {
				return Result{}, err
			}
			if res.fits(p, []ID{ids[0]}) {
				primary = p
			}
			break
		}
		if primary == nil {
			p, err := tx.NewProfile(ws, now)
			if err != nil {
				return Result{}, err
			}
			primary, out.Created = p, true
		}
	}

	var linking []store.Identifier
	for _, id := range ids {
		linking = append(linking, store.Identifier{Type: id.Type, Value: id.Value})
	}
	for i := range ids {
		q := owners[i]
		if q == 0 || q == primary.ID {
			continue
		}
		other, err := tx.Profile(ws, q)
		if err != nil {
			return Result{}, err
		}
		if other.MergedInto == primary.ID {
			continue
		}
		if !res.fits(primary, toIDs(other.Identifiers)) {
			continue // the rules forbid this merge; the identifier stays where it is
		}
		mg, err := merge(tx, ws, primary, other, m, linking, now)
		if err != nil {
			return Result{}, err
		}
		out.Merges = append(out.Merges, mg)
		for j := range owners {
			if owners[j] == q {
				owners[j] = primary.ID
			}
		}
	}
	for i, id := range ids {
		if owners[i] != 0 || !res.fits(primary, []ID{id}) {
			continue
		}
		if err := tx.SetIdentifier(ws, id.Type, id.Value, primary.ID); err != nil {
			return Result{}, err
		}
		primary.Identifiers = append(primary.Identifiers, store.Identifier{Type: id.Type, Value: id.Value, Added: now})
		tx.MarkDirty(ws, primary)
	}
	out.Profile = primary.ID
	return out, nil
}

// owned reports whether every identifier has the first one's owner.
func owned(owners []uint32) bool {
	for _, o := range owners {
		if o == 0 || o != owners[0] {
			return false
		}
	}
	return true
}

func toIDs(in []store.Identifier) []ID {
	out := make([]ID, len(in))
	for i, x := range in {
		out[i] = ID{x.Type, x.Value}
	}
	return out
}

// fits reports whether p could take the identifiers without exceeding a per-type limit.
func (res *Resolver) fits(p *store.Profile, add []ID) bool {
	counts := map[string]int{}
	for _, x := range p.Identifiers {
		counts[x.Type]++
	}
	for _, a := range add {
		if p.HasIdentifier(a.Type, a.Value) {
			continue
		}
		counts[a.Type]++
		if counts[a.Type] > res.Rules.Limit(a.Type) {
			return false
		}
	}
	return true
}

// merge moves everything of from into into and records the merge.
func merge(tx Txn, ws uint32, into, from *store.Profile, m *message.Message, linking []store.Identifier, now time.Time) (store.Merge, error) {
	mg := store.Merge{At: now, MessageID: m.MessageID, Into: into.ID, From: from.ID, Linking: linking}
	for _, id := range from.Identifiers {
		if err := tx.SetIdentifier(ws, id.Type, id.Value, into.ID); err != nil {
			return mg, err
		}
		if !into.HasIdentifier(id.Type, id.Value) {
			into.Identifiers = append(into.Identifiers, id)
		}
		mg.Moved = append(mg.Moved, id)
	}
	if into.Traits == nil {
		into.Traits = map[string]store.TraitValue{}
	}
	for k, v := range from.Traits {
		if cur, ok := into.Traits[k]; !ok || v.T.After(cur.T) {
			into.Traits[k] = v
		}
	}
	n, err := tx.MoveEvents(ws, from.ID, into.ID)
	if err != nil {
		return mg, err
	}
	mg.MovedEvents = n
	refs, err := tx.ProfileRecords(ws, from.ID)
	if err != nil {
		return mg, err
	}
	for _, ref := range refs {
		r, err := tx.Record(ws, ref[0], ref[1])
		if err != nil {
			return mg, err
		}
		r.Profile = into.ID
		if _, err := tx.PutRecord(ws, r); err != nil {
			return mg, err
		}
	}
	if !from.FirstSeen.IsZero() && (into.FirstSeen.IsZero() || from.FirstSeen.Before(into.FirstSeen)) {
		into.FirstSeen = from.FirstSeen
	}
	if from.LastSeen.After(into.LastSeen) {
		into.LastSeen = from.LastSeen
	}
	into.Events += from.Events
	if err := tx.AppendMerge(ws, &mg); err != nil {
		return mg, err
	}
	into.Merges = append(into.Merges, from.Merges...)
	into.Merges = append(into.Merges, mg.Seq)
	tx.MarkDirty(ws, into)

	from.MergedInto = into.ID
	from.Identifiers, from.Traits, from.Events = nil, nil, 0
	from.Merges = append(from.Merges, mg.Seq)
	tx.MarkDirty(ws, from)
	return mg, nil
}
