package message

import "fmt"

// Error codes. They are stable: the HTTP API returns them to clients and tests match on them.
const (
	CodeInvalidJSON     = "invalid_json"
	CodeInvalidEncoding = "invalid_encoding" // bad gzip or an unsupported Content-Encoding
	CodeMessageTooLarge = "message_too_large"
	CodeBatchTooLarge   = "batch_too_large"
	CodeTooManyMessages = "too_many_messages"
	CodeMissingIdentity = "missing_identity"
	CodeMissingField    = "missing_field"
	CodeInvalidType     = "invalid_type"
	CodeUnknownType     = "unknown_type"
)

// Error is a rejection of a request body or of one message in it. Path is a JSON path such as
// "batch[2].userId" naming the offending field ("" when the whole body is at fault).
type Error struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Path    string `json:"path,omitempty"`
}

func (e *Error) Error() string {
	if e.Path == "" {
		return e.Code + ": " + e.Message
	}
	return e.Code + " at " + e.Path + ": " + e.Message
}

func errorf(code, path, format string, args ...any) *Error {
	return &Error{Code: code, Path: path, Message: fmt.Sprintf(format, args...)}
}

// join prefixes a field path with the path of the message it belongs to.
func join(prefix, field string) string {
	if prefix == "" {
		return field
	}
	if field == "" {
		return prefix
	}
	return prefix + "." + field
}
