package main

import (
	"github.com/segd/segd/internal/index"
	"github.com/segd/segd/internal/message"
	"github.com/segd/segd/internal/store"
)

// loadIndex fills ix from the store.
func loadIndex(st *store.Store, ws uint32, ix *index.Index) error {
	if err := st.ScanProfiles(ws, func(p *store.Profile) error {
		ix.LoadProfile(index.Profile{ID: p.ID, Traits: p.TraitMap()})
		return nil
	}); err != nil {
		return err
	}
	batch := make([]index.Event, 0, 4096)
	if err := st.ScanEvents(ws, func(pid uint32, _ uint64, m *message.Message) error {
		if e, ok := indexEvent(pid, m); ok {
			batch = append(batch, e)
		}
		if len(batch) == cap(batch) {
			ix.AddEvents(batch)
			batch = batch[:0]
		}
		return nil
	}); err != nil {
		return err
	}
	ix.AddEvents(batch)
	if err := st.ScanRecords(ws, func(r *store.Record) error {
		ix.UpsertRecord(indexRecord(r))
		return nil
	}); err != nil {
		return err
	}
	ix.Optimize()
	return nil
}

