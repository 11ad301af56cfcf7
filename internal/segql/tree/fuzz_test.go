package tree_test

import (
	"bufio"
	"os"
	"testing"

	"github.com/segd/segd/internal/segql/parser"
	"github.com/segd/segd/internal/segql/printer"
	"github.com/segd/segd/internal/segql/tree"
)

// FuzzDecode: any JSON the decoder accepts prints as text that parses back
// into the same tree (JSON → text → JSON is the identity).
func FuzzDecode(f *testing.F) {
	file, err := os.Open("../parser/testdata/examples.segql")
	if err != nil {
		f.Fatal(err)
	}
	sc := bufio.NewScanner(file)
	for sc.Scan() {
		x, err := parser.ParseExpr(sc.Text())
		if err != nil {
			f.Fatal(err)
		}
		b, _ := tree.Encode(x)
		f.Add(b)
	}
	file.Close()
	f.Add([]byte(`{"trait":"t","time":{"between":["2024-01-01","now"]}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		x, err := tree.Decode(data)
		if err != nil {
			return
		}
		b, err := tree.Encode(x)
		if err != nil {
			t.Fatalf("decoded tree does not encode: %v", err)
		}
		text := printer.String(x)
		y, err := parser.ParseExpr(text)
		if err != nil {
			t.Fatalf("%s printed as %q: %v", data, text, err)
		}
		b2, _ := tree.Encode(y)
		if string(b) != string(b2) {
			t.Fatalf("JSON → text → JSON changed the tree:\n%s\n%s\n%s", b, text, b2)
		}
	})
}
