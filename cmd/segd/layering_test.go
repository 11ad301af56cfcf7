package main

import (
	"os/exec"
	"strings"
	"testing"
)

// TestLayering fails when an import edge crosses the architecture's layers (DESIGN.md and
// STYLE.md): evaluation depends on a contract, not on the store; the write path and the live
// evaluator never import each other; the language packages hold no runtime state.
func TestLayering(t *testing.T) {
	const mod = "github.com/segd/segd/"
	out, err := exec.Command("go", "list", "-deps", "-f", `{{.ImportPath}}:{{join .Deps " "}}:{{join .Imports " "}}`, "../../internal/...").Output()
	if err != nil {
		t.Skipf("go list unavailable: %v", err)
	}
	deps := map[string][]string{}    // transitive
	imports := map[string][]string{} // direct
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.SplitN(line, ":", 3)
		if len(f) == 3 && strings.HasPrefix(f[0], mod) {
			deps[strings.TrimPrefix(f[0], mod)] = strings.Fields(f[1])
			imports[strings.TrimPrefix(f[0], mod)] = strings.Fields(f[2])
		}
	}
	if len(deps) < 20 {
		t.Fatalf("only %d packages listed; the test is not seeing the module", len(deps))
	}
	forbidden := []struct {
		from, to, why string
		direct        bool // only a direct import is forbidden
	}{
		{"internal/engine", "internal/store", "engine reads data only through its Source interface", false},
		{"internal/engine", "internal/ingest", "evaluation does not write", false},
		{"internal/engine", "internal/httpapi", "evaluation knows nothing of HTTP", false},
		{"internal/index", "internal/store", "the index is fed by cmd/segd, not read from the store", false},
		{"internal/index", "internal/engine", "the index holds data, not plans", false},
		{"internal/segql", "internal/index", "syntax never carries runtime state", false},
		{"internal/segql", "internal/engine", "syntax never carries runtime state", false},
		{"internal/segql", "internal/store", "syntax never carries runtime state", false},
		{"internal/ingest", "internal/live", "ingest and live never import each other", true},
		{"internal/live", "internal/ingest", "ingest and live never import each other", true},
		{"internal/store", "internal/ingest", "the store knows nothing of the write path", false},
		{"internal/store", "internal/identity", "the store knows nothing of identity rules", false},
		{"internal/store", "internal/httpapi", "the store knows nothing of HTTP", false},
		{"internal/store", "internal/segment", "the store knows nothing of segments", false},
		{"internal/message", "internal/store", "message is pure decoding", false},
		{"internal/message", "internal/httpapi", "message is pure decoding", false},
		{"internal/destination", "internal/membership", "destinations consume their own Feed interface", false},
		{"internal/analytics/bgnbd", "internal/store", "the models are pure math", false},
		{"internal/analytics/rfm", "internal/store", "the models are pure math", false},
		{"internal", "cmd/", "only cmd/segd wires", false},
	}
	for pkg := range deps {
		for _, f := range forbidden {
			if !strings.HasPrefix(pkg, f.from) {
				continue
			}
			ds := deps[pkg]
			if f.direct {
				ds = imports[pkg]
			}
			for _, d := range ds {
				if strings.HasPrefix(d, mod+f.to) {
					t.Errorf("%s imports %s: %s", pkg, strings.TrimPrefix(d, mod), f.why)
				}
			}
		}
	}
}
