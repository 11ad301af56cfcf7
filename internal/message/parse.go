package message

import (
	"errors"
	"fmt"
)

// ParseJSON decodes JSON into the same values encoding/json produces for an `any`
// (map[string]any, []any, float64, string, bool, nil), faster. The store uses it to decode
// stored events.
func ParseJSON(data []byte) (any, error) {
	if !validJSON(data) {
		return nil, fmt.Errorf("message: invalid JSON")
	}
	return parseValid(data)
}

// ParseTrustedJSON is ParseJSON for bytes known to be valid JSON (written by segd itself);
// invalid input gives an error or a wrong value, never a panic.
func ParseTrustedJSON(data []byte) (v any, err error) {
	defer func() {
		if r := recover(); r != nil {
			v, err = nil, fmt.Errorf("message: corrupt JSON: %v", r)
		}
	}()
	return parseValid(data)
}

// EachTrustedMember calls f with the key and raw value of each member of a JSON object known
// to be valid (written by segd itself); invalid input gives an error, never a panic. Members
// whose values the caller does not need are skipped without being parsed.
func EachTrustedMember(data []byte, f func(key string, raw []byte) error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("message: corrupt JSON: %v", r)
		}
	}()
	i := 0
	for i < len(data) && isSpace(data[i]) {
		i++
	}
	if i == len(data) || data[i] != '{' {
		return errors.New("message: corrupt JSON: not an object")
	}
	return eachMember(data, i, f)
}
