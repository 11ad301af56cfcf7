package store

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// Key administration: listing a workspace's keys and revoking one without knowing its secret.
// Keys are stored under sha256(secret) only, so a key is named by its readable prefix or by
// its ID, the first 16 hex digits of that hash.

// ErrAmbiguous is returned when a key prefix names more than one key.
var ErrAmbiguous = errors.New("ambiguous key prefix")

// KeyInfo is an APIKey as listed: never the secret.
type KeyInfo struct {
	APIKey
	ID string `json:"id"`
}

// KeyID is the listed id of a secret's key.
func KeyID(secret string) string { return hex.EncodeToString(hashedKey(secret)[1:9]) }

// ListKeys returns every key of ws (revoked ones included), in id order.
func (s *Store) ListKeys(ws uint32) ([]KeyInfo, error) {
	var out []KeyInfo
	err := scan(s.db, []byte{prefixKey}, func(k, v []byte) error {
		var a APIKey
		if err := json.Unmarshal(v, &a); err != nil {
			return fmt.Errorf("store: decode key: %w", err)
		}
		if a.Workspace == ws && len(k) == 33 {
			out = append(out, KeyInfo{APIKey: a, ID: hex.EncodeToString(k[1:9])})
		}
		return nil
	})
	return out, err
}

// RevokeKeyByName revokes the key of ws whose ID or prefix is name. It returns ErrNotFound
// when none matches (keys of other workspaces never match) and ErrAmbiguous when several
// active keys share the prefix.
func (s *Store) RevokeKeyByName(ws uint32, name string) (KeyInfo, error) {
	if name == "" {
		return KeyInfo{}, ErrNotFound
	}
	var match []struct {
		key []byte
		k   APIKey
	}
	err := scan(s.db, []byte{prefixKey}, func(k, v []byte) error {
		var a APIKey
		if err := json.Unmarshal(v, &a); err != nil {
			return fmt.Errorf("store: decode key: %w", err)
		}
		if a.Workspace != ws || len(k) != 33 || a.Revoked {
			return nil
		}
		if hex.EncodeToString(k[1:9]) == strings.ToLower(name) || a.Prefix == name {
			match = append(match, struct {
				key []byte
				k   APIKey
			}{append([]byte(nil), k...), a})
		}
		return nil
	})
	if err != nil {
		return KeyInfo{}, err
	}
	switch len(match) {
	case 0:
		return KeyInfo{}, ErrNotFound
	case 1:
	default:
		return KeyInfo{}, fmt.Errorf("%w: %d keys start with %q; revoke by id", ErrAmbiguous, len(match), name)
	}
	m := match[0]
	m.k.Revoked = true
	v, _ := json.Marshal(m.k)
	if err := s.db.Set(m.key, v, s.sync); err != nil {
		return KeyInfo{}, fmt.Errorf("store: revoke key: %w", err)
	}
	s.keyCache.Clear()
	return KeyInfo{APIKey: m.k, ID: hex.EncodeToString(m.key[1:9])}, nil
}
