package httpapi

import (
	"fmt"
	"strings"
	"testing"
)

func TestKeysCreateListRevoke(t *testing.T) {
	e := newEnv(t, nil, Protection{})
	a, b := e.keys["a"], e.keys["b"]
	var created KeyAnswer
	if r := e.do(t, "POST", "/api/v1/keys", a.AdminToken, `{"scope":"write"}`, &created); r.StatusCode != 201 {
		t.Fatalf("create: %d", r.StatusCode)
	}
	if created.Secret == "" || created.Scope != "write" || !strings.HasPrefix(created.Secret, created.Prefix) || len(created.ID) != 16 {
		t.Fatalf("created %+v", created)
	}
	batch := `{"batch":[{"type":"track","event":"x","userId":"u"}]}`
	if r := e.do(t, "POST", "/v1/batch", created.Secret, batch, nil); r.StatusCode != 200 {
		t.Fatalf("new write key rejected: %d", r.StatusCode)
	}
	// scopes: a write key cannot manage keys, a read key neither
	for _, k := range []string{created.Secret, a.ReadKey, a.WriteKey} {
		if r := e.do(t, "GET", "/api/v1/keys", k, "", nil); r.StatusCode != 401 {
			t.Fatalf("non-admin key listed keys: %d", r.StatusCode)
		}
	}
	var list struct{ Keys []map[string]any }
	e.do(t, "GET", "/api/v1/keys", a.AdminToken, "", &list)
	if len(list.Keys) != 4 {
		t.Fatalf("listed %d keys, want 4", len(list.Keys))
	}
	for _, k := range list.Keys {
		if _, ok := k["secret"]; ok {
			t.Fatalf("list shows a secret: %v", k)
		}
		for _, secret := range []string{a.WriteKey, a.ReadKey, a.AdminToken, created.Secret} {
			if strings.Contains(fmt.Sprint(k), secret) {
				t.Fatalf("list leaks a secret: %v", k)
			}
		}
	}
	// b's admin cannot revoke a's key, by id or prefix
	for _, name := range []string{created.ID, created.Prefix} {
		if r := e.do(t, "DELETE", "/api/v1/keys/"+name, b.AdminToken, "", nil); r.StatusCode != 404 {
			t.Fatalf("b revoked a's key %s: %d", name, r.StatusCode)
		}
	}
	if r := e.do(t, "POST", "/v1/batch", created.Secret, batch, nil); r.StatusCode != 200 {
		t.Fatal("a's key stopped working after b's attempt")
	}
	// rotation: revoke by id, the old secret stops working at once
	if r := e.do(t, "DELETE", "/api/v1/keys/"+created.ID, a.AdminToken, "", nil); r.StatusCode != 200 {
		t.Fatalf("revoke: %d", r.StatusCode)
	}
	if r := e.do(t, "POST", "/v1/batch", created.Secret, batch, nil); r.StatusCode != 401 {
		t.Fatalf("revoked key still accepted: %d", r.StatusCode)
	}
	if r := e.do(t, "DELETE", "/api/v1/keys/"+created.ID, a.AdminToken, "", nil); r.StatusCode != 404 {
		t.Fatalf("revoking twice: %d", r.StatusCode)
	}
	// the last admin token cannot be revoked; after creating another it can
	adminID := ""
	list.Keys = nil
	e.do(t, "GET", "/api/v1/keys", a.AdminToken, "", &list)
	for _, k := range list.Keys {
		if k["scope"] == "admin" {
			adminID = k["id"].(string)
		}
	}
	if r := e.do(t, "DELETE", "/api/v1/keys/"+adminID, a.AdminToken, "", nil); r.StatusCode != 409 {
		t.Fatalf("revoking the last admin token: %d", r.StatusCode)
	}
	var admin2 KeyAnswer
	e.do(t, "POST", "/api/v1/keys", a.AdminToken, `{"scope":"admin"}`, &admin2)
	if r := e.do(t, "DELETE", "/api/v1/keys/"+adminID, admin2.Secret, "", nil); r.StatusCode != 200 {
		t.Fatalf("revoking the old admin token with the new one: %d", r.StatusCode)
	}
	if r := e.do(t, "GET", "/api/v1/keys", a.AdminToken, "", nil); r.StatusCode != 401 {
		t.Fatalf("revoked admin token still works: %d", r.StatusCode)
	}
	for _, body := range []string{`{"scope":"root"}`, `{}`, `{"scope":"read","x":1}`} {
		if r := e.do(t, "POST", "/api/v1/keys", admin2.Secret, body, nil); r.StatusCode != 400 {
			t.Errorf("create %s: %d", body, r.StatusCode)
		}
	}
}

func TestAuditLogsAdminActions(t *testing.T) {
	e := newEnv(t, nil, Protection{})
	a, b := e.keys["a"], e.keys["b"]
	e.do(t, "POST", "/v1/batch", a.WriteKey, `{"batch":[{"type":"identify","userId":"u1"}]}`, nil)
	e.do(t, "GET", "/api/v1/merges", a.AdminToken, "", nil) // reads are not audited
	var created KeyAnswer
	e.do(t, "POST", "/api/v1/keys", a.AdminToken, `{"scope":"read"}`, &created)
	e.do(t, "DELETE", "/api/v1/keys/"+created.ID, a.AdminToken, "", nil)
	e.do(t, "DELETE", "/api/v1/profiles/1", a.AdminToken, "", nil)
	e.do(t, "DELETE", "/api/v1/records/ticket/nope", b.AdminToken, "", nil)
	var got struct{ Entries []map[string]any }
	if r := e.do(t, "GET", "/api/v1/audit", a.AdminToken, "", &got); r.StatusCode != 200 {
		t.Fatalf("audit: %d", r.StatusCode)
	}
	want := []string{"DELETE /api/v1/profiles/{id}", "DELETE /api/v1/keys/{prefix}", "POST /api/v1/keys"}
	if len(got.Entries) != len(want) {
		t.Fatalf("a's audit log has %d entries, want %d: %v", len(got.Entries), len(want), got.Entries)
	}
	adminPrefix := a.AdminToken[:7]
	for i, e := range got.Entries {
		if e["route"] != want[i] || e["key"] != adminPrefix || e["at"] == "" || e["status"] == nil {
			t.Errorf("entry %d: %v, want route %q by %s", i, e, want[i], adminPrefix)
		}
	}
	if ids, _ := got.Entries[0]["ids"].(map[string]any); ids["id"] != "1" {
		t.Errorf("erase entry ids %v", got.Entries[0]["ids"])
	}
	if ids, _ := got.Entries[1]["ids"].(map[string]any); ids["prefix"] != created.ID {
		t.Errorf("revoke entry ids %v", got.Entries[1]["ids"])
	}
	got.Entries = nil
	e.do(t, "GET", "/api/v1/audit", b.AdminToken, "", &got)
	if len(got.Entries) != 1 || got.Entries[0]["status"] != float64(404) {
		t.Fatalf("b's audit log: %v", got.Entries)
	}
	for _, k := range []string{a.ReadKey, a.WriteKey} {
		if r := e.do(t, "GET", "/api/v1/audit", k, "", nil); r.StatusCode != 401 {
			t.Fatalf("non-admin read the audit log: %d", r.StatusCode)
		}
	}
	got.Entries = nil
	e.do(t, "GET", "/api/v1/audit?limit=1", a.AdminToken, "", &got)
	if len(got.Entries) != 1 {
		t.Fatalf("limit=1: %d entries", len(got.Entries))
	}
}
