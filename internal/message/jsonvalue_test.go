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
	})
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
