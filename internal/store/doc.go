// Package store owns segd's durable state in Pebble: workspaces and their keys, profiles,
// identifiers, events ordered per profile by event time, related records, the merge log, the
// messageId dedupe window and the suppression list. docs/storage-format.md documents the key
// layout and encodings; FormatVersion changes whenever they change incompatibly.
//
// The store knows nothing of identity rules, segments or HTTP (events are stored as decoded
// message.Message values): it
// must not import ingest, identity, engine, live or httpapi. Writes happen in a Txn, a Pebble
// indexed batch that sees its own writes, committed with fsync; the write pipeline groups
// many requests into one Txn so that one fsync acknowledges all of them.
package store
