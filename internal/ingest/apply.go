package ingest

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/segd/segd/internal/identity"
	"github.com/segd/segd/internal/message"
	"github.com/segd/segd/internal/store"
)

// ChangeKind says what a Change did.
type ChangeKind uint8

// Change kinds, as subscribers see them.
const (
	EventAdded     ChangeKind = iota // Event appended to Profile
	TraitsSet                        // Traits (the keys that changed, nil = removed) of Profile
	Merged                           // Merge.From now counts as Merge.Into
	Erased                           // Profile and all it had are gone
	RecordUpserted                   // Record stored (Record.Profile is its profile)
	RecordDeleted                    // Record removed (or moved away from Profile: an upsert to another profile follows)
	ProfileCreated                   // Profile is new
)

// Change is one applied write, delivered to OnCommit once the store shows it (see Options.OnCommit).
type Change struct {
	WS      uint32
	Kind    ChangeKind
	Profile uint32
	Seq     uint64
	Event   *message.Message
	Traits  map[string]any
	Merge   *store.Merge
	Record  *store.Record
}

type applier struct {
	opts      *Options
	now       time.Time
	resolvers map[uint32]*identity.Resolver
	changes   []Change
	merges    int
}

func (a *applier) resolver(ws uint32) *identity.Resolver {
	r, ok := a.resolvers[ws]
	if !ok {
		r = &identity.Resolver{Rules: a.opts.Rules(ws)}
		a.resolvers[ws] = r
	}
	return r
}

// prepared is the part of applying a message that does not depend on the writer's state,
// done by Append on the caller's goroutine: the stored event value, and whether the messageId
// was in the dedupe window as of a generation of the store (see store.SeenBefore).
type prepared struct {
	value []byte
	seen  bool
	gen   uint64
}

func (a *applier) message(tx *store.Txn, ws uint32, m *message.Message, prep *prepared) (Outcome, error) {
	if m.MessageID != "" {
		seen := prep.seen
		if !seen {
			var err error
			if seen, err = tx.SeenSince(ws, m.MessageID, prep.gen); err != nil {
				return Outcome{}, err
			}
		}
		if seen {
			return Outcome{Status: Duplicate}, nil
		}
	}
	res, err := a.resolver(ws).Resolve(tx, ws, m, a.now)
	if err != nil {
		return Outcome{}, err
	}
	if res.Suppressed {
		return Outcome{Status: Suppressed}, nil
	}
	if res.Created {
		a.changes = append(a.changes, Change{WS: ws, Kind: ProfileCreated, Profile: res.Profile})
	}
	for i := range res.Merges {
		a.merges++
		a.changes = append(a.changes, Change{WS: ws, Kind: Merged, Profile: res.Merges[i].Into, Merge: &res.Merges[i]})
	}
	pid := res.Profile
	if m.Type == message.Identify && len(m.Traits) > 0 {
		// only traits need the profile read (events are stored under its id)
		p, err := tx.Profile(ws, pid)
		if err != nil {
			return Outcome{}, err
		}
		if changed := setTraits(p, m.Traits, m.Timestamp); len(changed) > 0 {
			tx.MarkDirty(ws, p)
			a.changes = append(a.changes, Change{WS: ws, Kind: TraitsSet, Profile: pid, Traits: changed})
		}
	}
	seq, err := tx.AppendEncodedEvent(ws, pid, m.Timestamp, prep.value)
	if err != nil {
		return Outcome{}, err
	}
	// first/last seen and the event count are derived from the stored events on read, so an
	// event does not rewrite its profile record
	if m.MessageID != "" {
		if err := tx.MarkSeen(ws, m.MessageID, m.ReceivedAt); err != nil {
			return Outcome{}, err
		}
	}
	a.changes = append(a.changes, Change{WS: ws, Kind: EventAdded, Profile: pid, Seq: seq, Event: m})
	return Outcome{Status: Accepted, Profile: pid, Seq: seq}, nil
}

// setTraits applies traits written at event time t: a trait changes only if t is not older than
// the time of its current value (latest event time wins, so late data cannot roll back newer
// values). It returns the changed keys with their new values.
func setTraits(p *store.Profile, traits map[string]any, t time.Time) map[string]any {
	if p.Traits == nil {
		p.Traits = map[string]store.TraitValue{}
	}
	changed := map[string]any{}
	for k, v := range traits {
		if cur, ok := p.Traits[k]; ok && cur.T.After(t) {
			continue
		}
		p.Traits[k] = store.TraitValue{V: v, T: t}
		changed[k] = v
	}
	return changed
}

// ValidateRecord checks a record before it is submitted; errors name the field.
func ValidateRecord(r *RecordInput) error {
	switch {
	case strings.TrimSpace(r.Type) == "" || strings.ContainsAny(r.Type, "\x00/"):
		return fmt.Errorf("type: record type %q is empty or contains / or NUL", r.Type)
	case strings.TrimSpace(r.ID) == "" || strings.ContainsRune(r.ID, 0):
		return errors.New("id: record id is empty")
	case len(r.Identity) == 0:
		return errors.New("profile: a record needs at least one identifier (userId, email, phone, anonymousId or an external id)")
	}
	return nil
}

func (a *applier) record(tx *store.Txn, ws uint32, in *RecordInput) (uint32, error) {
	m := &message.Message{Type: message.Identify, MessageID: "record:" + in.Type + ":" + in.ID, Timestamp: in.Timestamp, Traits: map[string]any{}}
	for typ, v := range in.Identity {
		switch typ {
		case identity.UserID:
			m.UserID = v
		case identity.AnonymousID:
			m.AnonymousID = v
		default:
			m.Traits[typ] = v
		}
	}
	res, err := a.resolver(ws).Resolve(tx, ws, m, a.now)
	if err != nil {
		return 0, err
	}
	if res.Suppressed {
		return 0, nil
	}
	if res.Created {
		a.changes = append(a.changes, Change{WS: ws, Kind: ProfileCreated, Profile: res.Profile})
	}
	for i := range res.Merges {
		a.merges++
		a.changes = append(a.changes, Change{WS: ws, Kind: Merged, Profile: res.Merges[i].Into, Merge: &res.Merges[i]})
	}
	ts := in.Timestamp
	if ts.IsZero() {
		ts = a.now
	}
	r := &store.Record{Type: in.Type, ID: in.ID, Profile: res.Profile, Attributes: in.Attributes, Timestamp: ts.UTC(), Updated: a.now}
	old, err := tx.PutRecord(ws, r)
	if err != nil {
		return 0, err
	}
	if old != nil && old.Profile != r.Profile {
		// the record moves to another profile: subscribers see it leave the old one first
		// (live re-evaluates that profile's record segments even when it holds no copy of it)
		a.changes = append(a.changes, Change{WS: ws, Kind: RecordDeleted, Profile: old.Profile, Record: old})
	}
	a.changes = append(a.changes, Change{WS: ws, Kind: RecordUpserted, Profile: res.Profile, Record: r})
	return res.Profile, nil
}

func (a *applier) erase(tx *store.Txn, ws, pid uint32, suppress bool) error {
	p, err := tx.Profile(ws, pid)
	if errors.Is(err, store.ErrNotFound) || (err == nil && p.MergedInto != 0) {
		return inputError{fmt.Errorf("profile %d: %w", pid, store.ErrNotFound)}
	}
	if err != nil {
		return err
	}
	for _, id := range p.Identifiers {
		if err := tx.DeleteIdentifier(ws, id.Type, id.Value); err != nil {
			return err
		}
		if suppress {
			if err := tx.Suppress(ws, id.Type, id.Value); err != nil {
				return err
			}
		}
	}
	refs, err := tx.ProfileRecords(ws, pid)
	if err != nil {
		return err
	}
	for _, ref := range refs {
		if _, err := tx.DeleteRecord(ws, ref[0], ref[1]); err != nil {
			return err
		}
	}
	if err := tx.DeleteEvents(ws, pid); err != nil {
		return err
	}
	if err := tx.DeleteProfile(ws, pid); err != nil {
		return err
	}
	a.changes = append(a.changes, Change{WS: ws, Kind: Erased, Profile: pid})
	return nil
}
