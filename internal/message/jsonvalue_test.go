package message

import (
	"encoding/json"
	"reflect"
	"testing"
)

var jsonSeeds = []string{
	`{"a":1,"b":[true,false,null,"x"],"c":{"d":-1.5e3}}`,
	`"plain"`, `"esc\"aped\\ \u00e9 \ud83d\ude00 \ud800 \n"`, "\"bad utf8 \xff\xfe\"", `"ünïcödé"`,
	` [ 1 , 2 , [ ] , { } ] `, `0`, `-0`, `1e400`, `12345678901234567890`, `{"dup":1,"dup":2}`,
}

// FuzzParseValid checks the trusting parser against encoding/json on every valid input.
func FuzzParseValid(f *testing.F) {
	for _, s := range jsonSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if !json.Valid(data) {
			return
		}
		var want any
		wantErr := json.Unmarshal(data, &want)
		got, err := parseValid(data)
		if (err != nil) != (wantErr != nil) {
			t.Fatalf("%q: err %v, encoding/json err %v", data, err, wantErr)
		}
		if err == nil && !reflect.DeepEqual(got, want) {
			t.Fatalf("%q: got %#v, encoding/json %#v", data, got, want)
		}
		if err == nil {
			if end := skipValid(data, 0); firstByte(data[end:]) != 0 {
				t.Fatalf("%q: skipValid stopped at %d", data, end)
			}
		}
		if obj, ok := want.(map[string]any); ok && wantErr == nil {
			checkMembers(t, data, obj)
		}
	})
}

// checkMembers compares parseMembers with encoding/json's decoding of the same object.
func checkMembers(t *testing.T, data []byte, want map[string]any) {
	t.Helper()
	// parsed twice with the same boxes: the second time the strings come from the first
	// parse's boxes (a batch's messages share them), and must still decode as encoding/json
	var boxes textBoxes
	if _, err := parseMembers(data, &boxes); err != nil {
		t.Fatalf("%q: parseMembers: %v", data, err)
	}
	got, err := parseMembers(data, &boxes)
	if err != nil {
		t.Fatalf("%q: parseMembers: %v", data, err)
	}
	back := map[string]any{}
	for k, v := range got.extra {
		if fieldIndex(k) >= 0 {
			t.Fatalf("%q: known field %q in extra", data, k)
		}
		back[k] = v
	}
	for k, v := range want {
		if f := fieldIndex(k); f >= 0 {
			if !reflect.DeepEqual(got.value(f), v) {
				t.Fatalf("%q: field %s = %#v, encoding/json %#v", data, k, got.value(f), v)
			}
			back[k] = v
		}
	}
	for f := range numFields {
		v := got.value(f)
		if v == nil {
			continue
		}
		if _, ok := back[fieldNames[f]]; !ok {
			t.Fatalf("%q: field %s = %#v, absent for encoding/json", data, fieldNames[f], v)
		}
	}
	if !reflect.DeepEqual(back, want) {
		t.Fatalf("%q: members %#v, encoding/json %#v", data, back, want)
	}
}

func TestParseMembers(t *testing.T) {
	for _, s := range []string{`{}`, ` { "userId" : "u", "userId": null, "x": {"y": [1]}, "type": "track", "x": 2 } `,
		`{"context":{"a":1},"properties":{},"custom":"c","writeKey":"k","sentAt":"2024-05-01T10:00:00Z"}`,
		`{"userId":"a","userId":5,"event":1,"event":"e","type":"track","type":null,"name":"n\u00e9"}`} {
		var want map[string]any
		if err := json.Unmarshal([]byte(s), &want); err != nil {
			t.Fatal(err)
		}
		checkMembers(t, []byte(s), want)
	}
	for f, name := range fieldNames {
		if name == "" || fieldIndex(name) != f {
			t.Errorf("field %d is named %q, which fieldIndex maps to %d", f, name, fieldIndex(name))
		}
	}
	if got, _ := parseMembers([]byte(`{"userId":"a","userId":"b"}`), nil); got.value(fUserID) != "b" {
		t.Errorf("a repeated member must keep the last value, got %v", got.value(fUserID))
	}
}

func TestParseValidSeeds(t *testing.T) {
	for _, s := range jsonSeeds {
		var want any
		wantErr := json.Unmarshal([]byte(s), &want)
		got, err := parseValid([]byte(s))
		if (err != nil) != (wantErr != nil) || err == nil && !reflect.DeepEqual(got, want) {
			t.Errorf("%q: got %#v %v, want %#v %v", s, got, err, want, wantErr)
		}
	}
}
