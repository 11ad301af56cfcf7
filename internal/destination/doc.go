// Package destination owns delivery of segment enter/exit changes to the outside world:
// destination configurations (webhook, NATS / JetStream, rolling files), one delivery goroutine
// per destination reading the membership change feed from a durable cursor, filtering,
// suppression, batching, retries with exponential backoff and full jitter, a dead-letter list
// with replay, pause and resume, status and Prometheus metrics, and the /api/v1/destinations
// routes.
//
// Delivery is at least once: the cursor (store document kind "destination-cursor") advances
// only after a batch was accepted by the receiver or moved to the dead-letter list, so a crash
// between sending and saving the cursor sends the batch again. Every change carries the stable
// id "<workspace>-<seq>" so receivers can deduplicate. Order per profile holds because the feed
// is ordered and a batch is retried as a whole, never partly skipped, before the next one.
//
// The package consumes the change feed, profile descriptions and segment membership through
// the small interfaces it declares (Feed, Profiles, Members); it must not import membership,
// live, engine, index or ingest. cmd/segd wires the concrete services in. docs/destinations.md
// is the operator's guide.
package destination
