package message

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// Batch is a decoded /v1/batch body: the messages that passed validation, in body order, and a
// rejection for each that did not. A rejected message rejects nothing else.
type Batch struct {
	Messages   []Message
	Rejections []Rejection
	// WriteKey is the body's "writeKey" ("" when absent); Segment accepts the key there as an
	// alternative to HTTP Basic auth.
	WriteKey string
}

// Rejection names the batch element (0-based Index into "batch") and why it was refused.
type Rejection struct {
	Index int    `json:"index"`
	Err   *Error `json:"error"`
}

// envelope is what a batch body contributes to each of its messages.
type envelope struct {
	context      map[string]any
	integrations map[string]any
	sentAt       time.Time
}

// IDPrefix starts every messageId segd generates for a message sent without one. The rest is
// the first 128 bits of the SHA-256 of the message's bytes as sent, in hex, so re-sending the
// same bytes (a client retry, a re-run import) yields the same id and is deduplicated.
const IDPrefix = "h-"

// GenerateID returns the deterministic messageId for raw message bytes.
func GenerateID(raw []byte) string {
	sum := sha256.Sum256(raw)
	return IDPrefix + hex.EncodeToString(sum[:16])
}

// ValidType reports whether t is one of the six Segment call types.
func ValidType(t Type) bool {
	switch t {
	case Identify, Track, Page, Screen, Group, Alias:
		return true
	}
	return false
}

// DecodeCall decodes the body of a single call (/v1/identify, /v1/track, ...). The call type is
// the endpoint's: a "type" field in the body is ignored. The returned error is an *Error.
func DecodeCall(typ Type, body []byte, received time.Time, lim Limits) (Message, error) {
	if !ValidType(typ) {
		return Message{}, errorf(CodeUnknownType, "type", "unknown call type %q", string(typ))
	}
	m, err := decodeTop(typ, body, received, lim, nil)
	if err != nil {
		return Message{}, err
	}
	return m, nil
}

// DecodeMessage decodes one message whose type is given by its own "type" field, as in a batch
// element or a line of a JSON Lines import. The returned error is an *Error.
func DecodeMessage(body []byte, received time.Time, lim Limits) (Message, error) {
	return (*Decoder)(nil).Message(body, received, lim)
}

// A Decoder decodes the messages of one stream (the lines of an import) as DecodeMessage
// does, boxing their short string values once for all of them as a batch's are (see
// textBoxes). One goroutine uses it; the zero value is ready.
type Decoder struct{ boxes textBoxes }

// Message is DecodeMessage; a nil Decoder boxes every value on its own.
func (d *Decoder) Message(body []byte, received time.Time, lim Limits) (Message, error) {
	var boxes *textBoxes
	if d != nil {
		boxes = &d.boxes
	}
	m, err := decodeTop("", body, received, lim, boxes)
	if err != nil {
		return Message{}, err
	}
	return m, nil
}

func decodeTop(typ Type, body []byte, received time.Time, lim Limits, boxes *textBoxes) (Message, *Error) {
	lim = lim.WithDefaults()
	if len(body) > lim.MaxMessageBytes {
		return Message{}, errorf(CodeMessageTooLarge, "", "message is %d bytes, the limit is %d", len(body), lim.MaxMessageBytes)
	}
	if !validJSON(body) {
		return Message{}, syntaxError(body)
	}
	if firstByte(body) != '{' {
		v, _ := parseValid(body)
		return Message{}, errorf(CodeInvalidJSON, "", "body must be a JSON object, not %s", jsonKind(v))
	}
	obj, err := parseMembers(body, boxes)
	if err != nil {
		return Message{}, errorf(CodeInvalidType, "", "%v", err)
	}
	return fromObject(typ, &obj, body, -1, nil, received)
}

// syntaxError describes why body, which validJSON refused, is not JSON.
func syntaxError(body []byte) *Error {
	var v any
	err := json.Unmarshal(body, &v)
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return errorf(CodeInvalidJSON, "", "invalid JSON at byte %d: %s", se.Offset, se.Error())
	}
	if err == nil {
		return errorf(CodeInvalidJSON, "", "invalid JSON")
	}
	return errorf(CodeInvalidJSON, "", "invalid JSON: %s", strings.TrimPrefix(err.Error(), "json: "))
}

// DecodeBatch decodes a /v1/batch body. An error (an *Error) means the whole request is refused:
// invalid JSON, oversize, too many messages or a malformed envelope. Otherwise every element is
// decoded on its own; the batch-level "context" and "integrations" are merged under each
// message's own (the message wins) and the batch-level "sentAt" applies to messages without one.
func DecodeBatch(body []byte, received time.Time, lim Limits) (Batch, error) {
	b, err := decodeBatch(body, received, lim)
	if err != nil {
		return Batch{}, err
	}
	return b, nil
}

func decodeBatch(body []byte, received time.Time, lim Limits) (Batch, *Error) {
	lim = lim.WithDefaults()
	if len(body) > lim.MaxBatchBytes {
		return Batch{}, errorf(CodeBatchTooLarge, "", "batch is %d bytes, the limit is %d", len(body), lim.MaxBatchBytes)
	}
	if !validJSON(body) {
		return Batch{}, syntaxError(body)
	}
	if first := firstByte(body); first != '{' {
		return Batch{}, errorf(CodeInvalidJSON, "", "body must be a JSON object with a batch array")
	}
	var batchRaw, ctxRaw, intRaw, sentRaw, keyRaw []byte
	err := eachMember(body, 0, func(key string, raw []byte) error {
		switch key {
		case "batch":
			batchRaw = raw
		case "context":
			ctxRaw = raw
		case "integrations":
			intRaw = raw
		case "sentAt":
			sentRaw = raw
		case "writeKey":
			keyRaw = raw
		}
		return nil
	})
	if err != nil {
		return Batch{}, errorf(CodeInvalidJSON, "", "invalid JSON: %v", err)
	}
	var out Batch
	var env envelope
	if !isNull(keyRaw) {
		v, _ := parseValid(keyRaw)
		s, ok := v.(string)
		if !ok {
			return Batch{}, errorf(CodeInvalidType, "writeKey", "writeKey must be a string, not %s", jsonKind(v))
		}
		out.WriteKey = s
	}
	if !isNull(ctxRaw) {
		v, err := parseValid(ctxRaw)
		m, ok := v.(map[string]any)
		if err != nil || !ok {
			return Batch{}, errorf(CodeInvalidType, "context", "context must be an object, not %s", jsonKind(v))
		}
		env.context = m
	}
	if !isNull(intRaw) {
		v, err := parseValid(intRaw)
		m, ok := v.(map[string]any)
		if err != nil || !ok {
			return Batch{}, errorf(CodeInvalidType, "integrations", "integrations must be an object, not %s", jsonKind(v))
		}
		env.integrations = m
	}
	if !isNull(sentRaw) {
		v, _ := parseValid(sentRaw)
		s, ok := v.(string)
		if !ok {
			return Batch{}, errorf(CodeInvalidType, "sentAt", "sentAt must be an ISO-8601 time string, not %s", jsonKind(v))
		}
		t, err := parseTime(s)
		if err != nil {
			return Batch{}, errorf(CodeInvalidType, "sentAt", "sentAt %q is not an ISO-8601 time", s)
		}
		env.sentAt = t
	}
	if isNull(batchRaw) {
		return Batch{}, errorf(CodeMissingField, "batch", "batch is required: an array of messages")
	}
	if batchRaw[0] != '[' {
		return Batch{}, errorf(CodeInvalidType, "batch", "batch must be an array of messages")
	}
	var elems [][]byte
	eachElement(batchRaw, 0, func(raw []byte) { elems = append(elems, raw) })
	if len(elems) > lim.MaxBatchMessages {
		return Batch{}, errorf(CodeTooManyMessages, "batch", "batch has %d messages, the limit is %d", len(elems), lim.MaxBatchMessages)
	}
	out.Messages = make([]Message, 0, len(elems))
	var boxes textBoxes
	reject := func(i int, e *Error) { out.Rejections = append(out.Rejections, Rejection{Index: i, Err: e}) }
	for i, raw := range elems {
		if len(raw) > lim.MaxMessageBytes {
			reject(i, errorf(CodeMessageTooLarge, elemPath(i), "message is %d bytes, the limit is %d", len(raw), lim.MaxMessageBytes))
			continue
		}
		if raw[0] != '{' {
			v, _ := parseValid(raw)
			reject(i, errorf(CodeInvalidType, elemPath(i), "a batch element must be a message object, not %s", jsonKind(v)))
			continue
		}
		obj, err := parseMembers(raw, &boxes)
		if err != nil {
			reject(i, errorf(CodeInvalidType, elemPath(i), "%v", err))
			continue
		}
		m, e := fromObject("", &obj, raw, i, &env, received)
		if e != nil {
			reject(i, e)
			continue
		}
		out.Messages = append(out.Messages, m)
	}
	return out, nil
}

func firstByte(b []byte) byte {
	for _, c := range b {
		if !isSpace(c) {
			return c
		}
	}
	return 0
}

func isNull(raw []byte) bool {
	return len(raw) == 0 || string(raw) == "null"
}

// The top-level fields the Message struct holds, by position in members.known; everything
// else goes to Extra.
const (
	fType = iota
	fMessageID
	fUserID
	fAnonymousID
	fPreviousID
	fGroupID
	fEvent
	fName
	fCategory
	fProperties
	fTraits
	fContext
	fIntegrations
	fTimestamp
	fOriginalTimestamp
	fSentAt
	fWriteKey
	numFields
)

// fieldNames are the known top-level fields' names by position.
var fieldNames = [numFields]string{fType: "type", fMessageID: "messageId", fUserID: "userId",
	fAnonymousID: "anonymousId", fPreviousID: "previousId", fGroupID: "groupId", fEvent: "event",
	fName: "name", fCategory: "category", fProperties: "properties", fTraits: "traits",
	fContext: "context", fIntegrations: "integrations", fTimestamp: "timestamp",
	fOriginalTimestamp: "originalTimestamp", fSentAt: "sentAt", fWriteKey: "writeKey"}

// fieldIndex is the position of a known top-level field (fieldNames inverted), or -1.
func fieldIndex(name string) int {
	switch name {
	case "type":
		return fType
	case "messageId":
		return fMessageID
	case "userId":
		return fUserID
	case "anonymousId":
		return fAnonymousID
	case "previousId":
		return fPreviousID
	case "groupId":
		return fGroupID
	case "event":
		return fEvent
	case "name":
		return fName
	case "category":
		return fCategory
	case "properties":
		return fProperties
	case "traits":
		return fTraits
	case "context":
		return fContext
	case "integrations":
		return fIntegrations
	case "timestamp":
		return fTimestamp
	case "originalTimestamp":
		return fOriginalTimestamp
	case "sentAt":
		return fSentAt
	case "writeKey":
		return fWriteKey
	}
	return -1
}

// members are a message object's top-level members as decoded: the known fields by position
// (nil when absent or null), the others in extra. A message costs no map of its own fields
// (a map of sixteen, the size of a message's top level, was a kilobyte per message).
type members struct {
	known [numFields]any    // a field's value unless it is a string
	strs  [numFields]string // a field's value when it is a string (bit f of isStr)
	isStr uint32
	extra map[string]any
}

// value returns field f as decoded (nil when absent or null).
func (o *members) value(f int) any {
	if o.isStr&(1<<f) != 0 {
		return o.strs[f]
	}
	return o.known[f]
}

// str returns field f when it is a string.
func (o *members) str(f int) (string, bool) { return o.strs[f], o.isStr&(1<<f) != 0 }

// fromObject validates one decoded message object. raw is its bytes as sent (read only to
// derive a messageId when it has none); elem is its position in a batch (-1 for a single
// call), which names it in errors; env is nil outside a batch.
func fromObject(typ Type, obj *members, raw []byte, elem int, env *envelope, received time.Time) (Message, *Error) {
	var m Message
	// the JSON path of a field, for errors only (a path per message cost two allocations)
	at := func(field string) string { return join(elemPath(elem), field) }
	if typ == "" {
		s, ok := obj.str(fType)
		if !ok {
			if obj.known[fType] == nil {
				return m, errorf(CodeMissingField, at("type"), "type is required: one of identify, track, page, screen, group, alias")
			}
			return m, errorf(CodeInvalidType, at("type"), "type must be a string")
		}
		if !ValidType(Type(s)) {
			return m, errorf(CodeUnknownType, at("type"), "unknown message type %q: want identify, track, page, screen, group or alias", s)
		}
		typ = Type(s)
	}
	m.Type = typ

	var e *Error
	ids := [...]struct {
		f   int
		dst *string
	}{
		{fMessageID, &m.MessageID}, {fUserID, &m.UserID}, {fAnonymousID, &m.AnonymousID},
		{fPreviousID, &m.PreviousID}, {fGroupID, &m.GroupID},
	}
	for _, f := range ids {
		if *f.dst, e = idField(obj, f.f, at); e != nil {
			return Message{}, e
		}
	}
	strs := [...]struct {
		f   int
		dst *string
	}{
		{fEvent, &m.Event}, {fName, &m.Name}, {fCategory, &m.Category}, {fWriteKey, &m.WriteKey},
	}
	for _, f := range strs {
		if *f.dst, e = stringField(obj, f.f, at); e != nil {
			return Message{}, e
		}
	}
	objs := [...]struct {
		f   int
		dst *map[string]any
	}{
		{fProperties, &m.Properties}, {fTraits, &m.Traits}, {fContext, &m.Context}, {fIntegrations, &m.Integrations},
	}
	for _, f := range objs {
		if *f.dst, e = objectField(obj, f.f, at); e != nil {
			return Message{}, e
		}
	}
	var ts time.Time
	times := [...]struct {
		f   int
		dst *time.Time
	}{
		{fTimestamp, &ts}, {fOriginalTimestamp, &m.OriginalTimestamp}, {fSentAt, &m.SentAt},
	}
	for _, f := range times {
		if *f.dst, e = timeField(obj, f.f, at); e != nil {
			return Message{}, e
		}
	}

	switch typ {
	case Alias:
		if m.PreviousID == "" {
			return Message{}, errorf(CodeMissingField, at("previousId"), "alias needs previousId: the identity being aliased")
		}
		if m.UserID == "" {
			return Message{}, errorf(CodeMissingField, at("userId"), "alias needs userId: the new identity")
		}
	default:
		if m.UserID == "" && m.AnonymousID == "" {
			return Message{}, errorf(CodeMissingIdentity, at("userId"), "every message needs userId or anonymousId")
		}
	}
	switch typ {
	case Track:
		if m.Event == "" {
			return Message{}, errorf(CodeMissingField, at("event"), "track needs event: the name of the action")
		}
	case Group:
		if m.GroupID == "" {
			return Message{}, errorf(CodeMissingField, at("groupId"), "group needs groupId")
		}
	}

	m.Extra = obj.extra

	if env != nil {
		m.Context = mergeUnder(m.Context, env.context)
		m.Integrations = mergeUnder(m.Integrations, env.integrations)
		if m.SentAt.IsZero() {
			m.SentAt = env.sentAt
		}
	}

	m.ReceivedAt = received.UTC()
	if ts.IsZero() && !m.OriginalTimestamp.IsZero() && !m.SentAt.IsZero() {
		ts = skewCorrected(m.OriginalTimestamp, m.SentAt, m.ReceivedAt)
		if ts.Year() < 1 || ts.Year() > 9999 {
			return Message{}, errorf(CodeInvalidType, at("originalTimestamp"), "clock-skew correction from originalTimestamp and sentAt gives a time outside years 1-9999")
		}
	}
	m.Timestamp = eventTime(ts, m.OriginalTimestamp, m.SentAt, m.ReceivedAt)

	if m.MessageID == "" {
		m.MessageID = GenerateID(raw)
	}
	m.Enriched = enrich(&m)
	return m, nil
}

// skewCorrected is receivedAt − (sentAt − originalTimestamp), in whole seconds plus nanoseconds
// so that no time.Duration overflows on absurd inputs.
func skewCorrected(orig, sent, received time.Time) time.Time {
	sec := received.Unix() - (sent.Unix() - orig.Unix())
	nsec := int64(received.Nanosecond()) - (int64(sent.Nanosecond()) - int64(orig.Nanosecond()))
	return time.Unix(sec, nsec).UTC()
}

// idField reads an identifier: a string, or a number converted to its shortest decimal text
// (Segment accepts numeric ids). null and absent read as "".
func idField(obj *members, f int, at func(string) string) (string, *Error) {
	if s, ok := obj.str(f); ok {
		return s, nil
	}
	switch v := obj.known[f].(type) {
	case nil:
		return "", nil
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64), nil
	default:
		name := fieldNames[f]
		return "", errorf(CodeInvalidType, at(name), "%s must be a string or a number, not %s", name, jsonKind(v))
	}
}

func stringField(obj *members, f int, at func(string) string) (string, *Error) {
	if s, ok := obj.str(f); ok {
		return s, nil
	}
	if v := obj.known[f]; v != nil {
		name := fieldNames[f]
		return "", errorf(CodeInvalidType, at(name), "%s must be a string, not %s", name, jsonKind(v))
	}
	return "", nil
}

func objectField(obj *members, f int, at func(string) string) (map[string]any, *Error) {
	switch v := obj.value(f).(type) {
	case nil:
		return nil, nil
	case map[string]any:
		return v, nil
	default:
		name := fieldNames[f]
		return nil, errorf(CodeInvalidType, at(name), "%s must be an object, not %s", name, jsonKind(v))
	}
}

func timeField(obj *members, f int, at func(string) string) (time.Time, *Error) {
	name := fieldNames[f]
	if s, ok := obj.str(f); ok {
		t, err := parseTime(s)
		if err != nil {
			return time.Time{}, errorf(CodeInvalidType, at(name), "%s %q is not an ISO-8601 time such as 2024-05-01T12:00:00.000Z", name, s)
		}
		return t, nil
	}
	if v := obj.known[f]; v != nil {
		return time.Time{}, errorf(CodeInvalidType, at(name), "%s must be an ISO-8601 time string, not %s", name, jsonKind(v))
	}
	return time.Time{}, nil
}

// elemPath is the JSON path of batch element i ("" for -1, a single call's body).
func elemPath(i int) string {
	if i < 0 {
		return ""
	}
	return "batch[" + strconv.Itoa(i) + "]"
}

func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case float64:
		return "a number"
	case bool:
		return "a boolean"
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}

// mergeUnder returns own with base's entries added where own has none; nested objects merge the
// same way. base is copied, never shared, so messages of one batch do not alias each other.
func mergeUnder(own, base map[string]any) map[string]any {
	if len(base) == 0 {
		return own
	}
	if own == nil {
		own = make(map[string]any, len(base))
	}
	for k, bv := range base {
		ov, ok := own[k]
		if !ok {
			own[k] = deepCopy(bv)
			continue
		}
		om, ok1 := ov.(map[string]any)
		bm, ok2 := bv.(map[string]any)
		if ok1 && ok2 {
			own[k] = mergeUnder(om, bm)
		}
	}
	return own
}

func deepCopy(v any) any {
	switch v := v.(type) {
	case map[string]any:
		c := make(map[string]any, len(v))
		for k, x := range v {
			c[k] = deepCopy(x)
		}
		return c
	case []any:
		c := make([]any, len(v))
		for i, x := range v {
			c[i] = deepCopy(x)
		}
		return c
	}
	return v
}

// ReadBody reads a request body of at most max uncompressed bytes, decoding it when
// contentEncoding is "gzip" (RudderStack's clients gzip by default). Too long a body gives
// CodeBatchTooLarge or CodeMessageTooLarge as tooLargeCode says; a broken gzip stream or an
// unsupported encoding gives CodeInvalidEncoding. Errors are *Error except read errors from r.
//
// contentLength is the length the request states (-1 when unknown): an uncompressed body is
// then read into one buffer of that size instead of one doubled until it fits (twice the body
// in allocations, on every batch request).
func ReadBody(r io.Reader, contentEncoding string, contentLength int64, max int, tooLargeCode string) ([]byte, error) {
	switch strings.ToLower(strings.TrimSpace(contentEncoding)) {
	case "", "identity":
	case "gzip", "x-gzip":
		zr, err := gzip.NewReader(r)
		if err != nil {
			return nil, errorf(CodeInvalidEncoding, "", "body is not valid gzip: %v", err)
		}
		defer zr.Close()
		body, err := readLimited(zr, max, -1, tooLargeCode)
		if err != nil {
			var e *Error
			if errors.As(err, &e) {
				return nil, e
			}
			return nil, errorf(CodeInvalidEncoding, "", "body is not valid gzip: %v", err)
		}
		return body, nil
	default:
		return nil, errorf(CodeInvalidEncoding, "", "unsupported Content-Encoding %q: send identity or gzip", contentEncoding)
	}
	return readLimited(r, max, contentLength, tooLargeCode)
}

func readLimited(r io.Reader, max int, hint int64, tooLargeCode string) ([]byte, error) {
	var buf bytes.Buffer
	if hint > 0 && hint <= int64(max) {
		buf.Grow(int(hint) + bytes.MinRead) // room to see the end without growing
	}
	n, err := buf.ReadFrom(io.LimitReader(r, int64(max)+1))
	if err != nil {
		return nil, err
	}
	if n > int64(max) {
		return nil, errorf(tooLargeCode, "", "body is larger than the limit of %d bytes", max)
	}
	return buf.Bytes(), nil
}
