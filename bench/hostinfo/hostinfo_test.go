package hostinfo

import (
	"strings"
	"testing"
)

func TestLineNamesTheHugePageMode(t *testing.T) {
	line := Line()
	switch thp := THP(); thp {
	case "always", "madvise", "never":
		if !strings.HasSuffix(line, "transparent huge pages "+thp) {
			t.Errorf("line %q does not end with the mode %q", line, thp)
		}
	case "":
		if !strings.HasSuffix(line, "transparent huge pages unknown") {
			t.Errorf("line %q, want the mode unknown", line)
		}
	default:
		t.Errorf("THP() = %q, not a kernel mode", thp)
	}
}
