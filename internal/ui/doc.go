// Package ui owns segd's web interface for marketers: server-rendered pages (html/template)
// with htmx and a small vendored chart library, all embedded with go:embed, behind a sign-in
// with the workspace admin token (server-side sessions, CSRF tokens on every form and htmx
// request). Pages: overview, segments list, segment builder (visual builder and SegQL editor
// kept in sync through the JSON tree form), segment detail, profile 360, analytics,
// destinations and data.
//
// ui calls the product only through the interfaces it declares in backend.go (Backend and
// Segments, plus nil-able ones for parts that may not exist yet: a nil one renders a
// "not available yet" state). adapter.go implements Backend and Segments over the store, the
// in-memory index, the engine and segql; cmd/segd may replace the segment part with the
// membership service. ui must not import httpapi, ingest, live or cmd packages, and never
// calls segd's own HTTP API.
package ui
