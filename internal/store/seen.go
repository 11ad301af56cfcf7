package store

import "sync"

// Looking up a messageId in the dedupe window is a point read of an absent key for almost
// every message, and the writer did it for each message on its one goroutine. SeenBefore lets
// callers do those reads beforehand, on their own goroutines, as of a known point of the
// write order (a generation: the number of Txns applied so far); the writer then only checks
// the Txns applied since that point, which it remembers (recentTxns of them).
//
// Correctness rests on two facts: a Txn's writes are visible before its generation is
// published (CommitNoWait applies, then counts), so a read made after loading generation g
// sees every Txn up to g; and only Txns write dedupe keys (expiry deletes them, which can only
// turn "seen" into "not seen": a message found seen just before its id expired counts as a
// duplicate, as it would have a moment earlier).

// recentTxns is how many applied Txns' messageIds the writer remembers. A check older than
// that falls back to reading the database.
const recentTxns = 16

type seenLog struct {
	mu      sync.Mutex
	applied uint64 // Txns applied, in commit order
	txns    [recentTxns]map[seenRef]bool
}

// SeenCheck is the answer of SeenBefore: which messageIds were in the dedupe window as of
// generation Gen. Pass it to Txn.SeenSince.
type SeenCheck struct {
	Gen  uint64
	Seen []bool
}

// SeenBefore reads, for each messageId ("" reads nothing), whether it is in the workspace's
// dedupe window now. It may run on any goroutine, concurrently with the writer.
func (s *Store) SeenBefore(ws uint32, ids []string) (SeenCheck, error) {
	s.seen.mu.Lock()
	c := SeenCheck{Gen: s.seen.applied, Seen: make([]bool, len(ids))}
	s.seen.mu.Unlock()
	for i, id := range ids {
		if id == "" {
			continue
		}
		seen, err := s.HasMessage(ws, id)
		if err != nil {
			return SeenCheck{}, err
		}
		c.Seen[i] = seen
	}
	return c, nil
}

// SeenSince is Seen for a messageId that SeenBefore found absent as of gen: it looks at this
// Txn's writes and those of the Txns applied after gen, and reads the database only when
// more Txns than it remembers were applied since.
func (t *Txn) SeenSince(ws uint32, messageID string, gen uint64) (bool, error) {
	if t.s.filter.absent(ws, messageID) {
		// the filter holds every stored messageId and those of Txns not yet committed,
		// this one's included (MarkSeen adds before the commit)
		return false, nil
	}
	ref := seenRef{ws, messageID}
	if t.seen[ref] {
		return true, nil
	}
	l := &t.s.seen
	l.mu.Lock()
	applied := l.applied
	if applied-gen > recentTxns {
		l.mu.Unlock()
		return t.Seen(ws, messageID)
	}
	for g := gen + 1; g <= applied; g++ {
		if l.txns[g%recentTxns][ref] {
			l.mu.Unlock()
			return true, nil
		}
	}
	l.mu.Unlock()
	return false, nil
}

// noteApplied records that t's writes are visible: its messageIds join the remembered ones
// and the generation advances.
func (l *seenLog) noteApplied(t *Txn) {
	l.mu.Lock()
	l.applied++
	l.txns[l.applied%recentTxns] = t.seen
	l.mu.Unlock()
}
