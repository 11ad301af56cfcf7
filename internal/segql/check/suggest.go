package check

import (
	"strings"
	"unicode/utf8"
)

// distance is the optimal-string-alignment edit distance between a and b
// by runes: insertions, deletions, substitutions and transpositions of
// adjacent runes ("vpi" → "vip") each cost 1.
func distance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	d := make([][]int, len(ra)+1)
	for i := range d {
		d[i] = make([]int, len(rb)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(ra); i++ {
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(ra)][len(rb)]
}

// suggest returns the known name closest to name, or "" if none is close:
// a case-insensitive match, or an edit distance of at most 1 for names up to
// 4 runes, 2 up to 10, 3 beyond. Ties go to the alphabetically first; known
// must be sorted.
func suggest(name string, known []string) string {
	n := utf8.RuneCountInString(name)
	limit := 3
	switch {
	case n <= 4:
		limit = 1
	case n <= 10:
		limit = 2
	}
	best, bestD := "", limit+1
	lower := strings.ToLower(name)
	for _, k := range known {
		if k == name {
			continue
		}
		d := distance(lower, strings.ToLower(k))
		if d < bestD {
			best, bestD = k, d
		}
	}
	return best
}
