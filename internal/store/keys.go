package store

import (
	"encoding/binary"
	"time"
)

// FormatVersion is the on-disk format version, stored under keyFormatVersion. Open refuses a
// data directory written with a different version, except that it upgrades versions 1 and 2
// (whose data version 3 reads as it is: only new event values differ, see eventcodec.go, and
// version 3 adds the text dictionaries, contextrefs.go) by rewriting the version; an older segd
// then refuses the directory instead of misreading it.
const FormatVersion = 3

// Key prefixes. Every key of workspace data starts with its prefix byte and the workspace id as
// 4 big-endian bytes, so a workspace's data of one kind is one contiguous range.
const (
	prefixMeta       = 0x00 // 0x00 "version" → uint32
	prefixWorkspace  = 'W'  // W ws → Workspace JSON
	prefixKey        = 'K'  // K sha256(secret) → APIKey JSON
	prefixCounter    = 'C'  // C ws name → uint64
	prefixProfile    = 'P'  // P ws pid → Profile JSON
	prefixIdentifier = 'I'  // I ws type 0x00 value → pid
	prefixEvent      = 'E'  // E ws pid time seq → event (binary, eventcodec.go)
	prefixDedupe     = 'D'  // D ws messageId → received(8)
	prefixDedupeAge  = 'A'  // A ws received(8) messageId → nil: written before 2026-12-03, dropped by ExpireDedupe
	prefixRecord     = 'R'  // R ws type 0x00 id → Record JSON
	prefixProfileRec = 'Q'  // Q ws pid type 0x00 id → nil
	prefixMerge      = 'G'  // G ws seq → Merge JSON
	prefixSuppress   = 'X'  // X ws sha256(type:value) → nil
	prefixDoc        = 'O'  // O ws kind 0x00 id → JSON document owned by another package (segments, ...)
	prefixText       = 'U'  // U ws id(4) → name 0x00 JSON: a context member events share (contextrefs.go)
)

var keyFormatVersion = []byte{prefixMeta, 'v', 'e', 'r', 's', 'i', 'o', 'n'}

func wsKey(prefix byte, ws uint32, extra int) []byte {
	k := make([]byte, 5, 5+extra)
	k[0] = prefix
	binary.BigEndian.PutUint32(k[1:], ws)
	return k
}

func profileKey(ws, pid uint32) []byte {
	return binary.BigEndian.AppendUint32(wsKey(prefixProfile, ws, 4), pid)
}

func identifierKey(ws uint32, typ, value string) []byte {
	k := wsKey(prefixIdentifier, ws, len(typ)+1+len(value))
	k = append(k, typ...)
	k = append(k, 0)
	return append(k, value...)
}

// appendTime encodes t as nanoseconds since the Unix epoch with the sign bit flipped, so that
// byte order equals time order for times before 1970 too.
func appendTime(dst []byte, t time.Time) []byte {
	return binary.BigEndian.AppendUint64(dst, uint64(t.UnixNano())^(1<<63))
}

func decodeTime(b []byte) time.Time {
	return time.Unix(0, int64(binary.BigEndian.Uint64(b)^(1<<63))).UTC()
}

func eventPrefix(ws, pid uint32) []byte {
	return binary.BigEndian.AppendUint32(wsKey(prefixEvent, ws, 20), pid)
}

// eventKeyLen is the length of an event's key: prefix, workspace, profile, time, sequence.
const eventKeyLen = 1 + 4 + 4 + 8 + 8

func appendEventKey(dst []byte, ws, pid uint32, t time.Time, seq uint64) []byte {
	dst = binary.BigEndian.AppendUint32(append(dst, prefixEvent), ws)
	dst = appendTime(binary.BigEndian.AppendUint32(dst, pid), t)
	return binary.BigEndian.AppendUint64(dst, seq)
}

func dedupeKey(ws uint32, messageID string) []byte {
	return appendDedupeKey(make([]byte, 0, dedupeKeyLen(messageID)), ws, messageID)
}

func dedupeKeyLen(messageID string) int { return 5 + len(messageID) }

func appendDedupeKey(dst []byte, ws uint32, messageID string) []byte {
	return append(binary.BigEndian.AppendUint32(append(dst, prefixDedupe), ws), messageID...)
}

// dedupeAgeKey is the key earlier versions wrote per messageId in receipt order (see
// ExpireDedupe).
func dedupeAgeKey(ws uint32, received time.Time, messageID string) []byte {
	k := appendTime(wsKey(prefixDedupeAge, ws, 8+len(messageID)), received)
	return append(k, messageID...)
}

func recordKey(ws uint32, typ, id string) []byte {
	k := wsKey(prefixRecord, ws, len(typ)+1+len(id))
	k = append(append(k, typ...), 0)
	return append(k, id...)
}

func profileRecordPrefix(ws, pid uint32) []byte {
	return binary.BigEndian.AppendUint32(wsKey(prefixProfileRec, ws, 4), pid)
}

func profileRecordKey(ws, pid uint32, typ, id string) []byte {
	k := profileRecordPrefix(ws, pid)
	k = append(append(k, typ...), 0)
	return append(k, id...)
}

func mergeKey(ws uint32, seq uint64) []byte {
	return binary.BigEndian.AppendUint64(wsKey(prefixMerge, ws, 8), seq)
}

func counterKey(ws uint32, name string) []byte {
	return append(wsKey(prefixCounter, ws, len(name)), name...)
}

func docKey(ws uint32, kind, id string) []byte {
	k := wsKey(prefixDoc, ws, len(kind)+1+len(id))
	k = append(append(k, kind...), 0)
	return append(k, id...)
}

// prefixEnd returns the smallest key greater than every key with the given prefix.
func prefixEnd(prefix []byte) []byte {
	end := append([]byte(nil), prefix...)
	for i := len(end) - 1; i >= 0; i-- {
		end[i]++
		if end[i] != 0 {
			return end[:i+1]
		}
	}
	return nil // prefix was all 0xff: no upper bound
}
