package message

import (
	"encoding/json"
	"strings"
	"testing"
)

var validCases = []string{
	``, ` `, `{}`, `[]`, `[ ]`, `{ }`, `"x"`, `""`, `0`, `-0`, `01`, `-`, `1.`, `1.5`, `.5`, `1e5`, `1E+5`,
	`1e`, `1e-`, `-1.5e-07`, `1.5E+`, `+1`, `00`, `1 2`, `true`, `tru`, `truex`, `false`, `null`, `nul`,
	`{"a":1}`, `{"a":1,}`, `{"a" 1}`, `{a:1}`, `{"a":1 "b":2}`, `[1,]`, `[,1]`, `[1 2]`, `{"a":[1,{"b":null}]}`,
	`"\u00e9"`, `"\u00g9"`, `"\u00e"`, `"\x"`, `"\/"`, `"a\"b"`, `"a\\"`, `"a\\\"`, "\"\x01\"", "\"\x7f\"",
	"\"\xff\xfe\"", "\"tab\there\"", "{\"a\":\t1\r\n}", `"unterminated`, `{"a":1}}`, `[[]]]`, `{"a"}`,
	`{"":""}`, ` [ 1 , 2 ] `, `[-]`, `[--1]`, `[1e+-1]`, `{"a":tru}`, `[nulll]`,
}

func TestValidJSONMatchesEncodingJSON(t *testing.T) {
	cases := append([]string{}, validCases...)
	cases = append(cases, strings.Repeat("[", maxNesting)+strings.Repeat("]", maxNesting))
	cases = append(cases, strings.Repeat("[", maxNesting+1)+strings.Repeat("]", maxNesting+1))
	cases = append(cases, strings.Repeat(`{"a":`, maxNesting)+"1"+strings.Repeat("}", maxNesting))
	cases = append(cases, strings.Repeat(`{"a":`, maxNesting+1)+"1"+strings.Repeat("}", maxNesting+1))
	for _, c := range cases {
		if got, want := validJSON([]byte(c)), json.Valid([]byte(c)); got != want {
			t.Errorf("validJSON(%.40q) = %v, json.Valid says %v", c, got, want)
		}
	}
}

func FuzzValidJSON(f *testing.F) {
	for _, c := range validCases {
		f.Add([]byte(c))
	}
	for _, s := range seedCorpus(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if got, want := validJSON(data), json.Valid(data); got != want {
			t.Fatalf("validJSON(%q) = %v, json.Valid says %v", data, got, want)
		}
	})
}
