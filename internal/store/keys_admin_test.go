package store

import (
	"errors"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"
)

func TestListAndRevokeKeysByName(t *testing.T) {
	st, err := Open(Options{Dir: "/d", FS: vfs.NewMem()})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	a, ka, _ := st.CreateWorkspace("a", Keys{})
	b, kb, _ := st.CreateWorkspace("b", Keys{})
	extra, _ := st.AddKey(a.ID, ScopeRead, "")
	list, err := st.ListKeys(a.ID)
	if err != nil || len(list) != 4 {
		t.Fatalf("ListKeys: %d keys, %v; want 4", len(list), err)
	}
	for _, k := range list {
		if k.Workspace != a.ID || len(k.ID) != 16 {
			t.Fatalf("bad listed key %+v", k)
		}
	}
	// b's key is not revocable through a
	if _, err := st.RevokeKeyByName(a.ID, KeyID(kb.WriteKey)); !errors.Is(err, ErrNotFound) {
		t.Fatalf("revoking b's key through a: %v", err)
	}
	if _, err := st.RevokeKeyByName(a.ID, secretPrefix(kb.WriteKey)); !errors.Is(err, ErrNotFound) {
		t.Fatalf("revoking b's key prefix through a: %v", err)
	}
	k, err := st.RevokeKeyByName(a.ID, KeyID(extra))
	if err != nil || !k.Revoked {
		t.Fatalf("revoke by id: %+v %v", k, err)
	}
	if _, err := st.Authenticate(extra); !errors.Is(err, ErrUnauthorized) {
		t.Fatalf("revoked key still authenticates: %v", err)
	}
	if _, err := st.RevokeKeyByName(a.ID, secretPrefix(ka.WriteKey)); err != nil {
		t.Fatalf("revoke by prefix: %v", err)
	}
	if _, err := st.Authenticate(ka.WriteKey); !errors.Is(err, ErrUnauthorized) {
		t.Fatal("key revoked by prefix still authenticates")
	}
	if _, err := st.Authenticate(kb.WriteKey); err != nil {
		t.Fatalf("b's key broken by a's revocation: %v", err)
	}
	// two keys with the same prefix: ambiguous
	st.AddKey(b.ID, ScopeRead, "rk_same1")
	st.AddKey(b.ID, ScopeRead, "rk_same2")
	if _, err := st.RevokeKeyByName(b.ID, "rk_same"); !errors.Is(err, ErrAmbiguous) {
		t.Fatalf("ambiguous prefix: %v", err)
	}
}
