package tree_test

import (
	"testing"

	"github.com/segd/segd/internal/segql/parser"
	"github.com/segd/segd/internal/segql/printer"
	"github.com/segd/segd/internal/segql/tree"
)

// TestEncode pins the documented JSON shape, one case per line, and checks
// that decoding gives the text back.
func TestEncode(t *testing.T) {
	f := func(text, want string) {
		t.Helper()
		x, err := parser.ParseExpr(text)
		if err != nil {
			t.Fatalf("%s: %v", text, err)
		}
		b, err := tree.Encode(x)
		if err != nil {
			t.Fatalf("%s: %v", text, err)
		}
		if string(b) != want {
			t.Errorf("%s:\n got %s\nwant %s", text, b, want)
		}
		y, err := tree.Decode(b)
		if err != nil {
			t.Fatalf("%s: decode: %v", b, err)
		}
		if got := printer.String(y); got != printer.String(x) {
			t.Errorf("text → JSON → text: got %s want %s", got, printer.String(x))
		}
	}
	f(`age >= 25`, `{"trait":"age","op":">=","value":25}`)
	f(`country in ["VN", "TH"]`, `{"trait":"country","op":"in","values":["VN","TH"]}`)
	f(`a = 1 and (b = 2 or not c exists)`, `{"and":[{"trait":"a","op":"=","value":1},{"or":[{"trait":"b","op":"=","value":2},{"not":{"trait":"c","op":"exists"}}]}]}`)
	f(`churn_probability > 70%`, `{"trait":"churn_probability","op":">","value":{"percent":70}}`)
	f(`t < 2024-01-01 and t > 3 days ago and t != now`, `{"and":[{"trait":"t","op":"<","value":{"time":"2024-01-01"}},{"trait":"t","op":">","value":{"ago":{"n":3,"unit":"days"}}},{"trait":"t","op":"!=","value":{"time":"now"}}]}`)
	f(`signup_at between 2024-01-01 and 2024-02-01T10:00:00Z`, `{"trait":"signup_at","time":{"between":["2024-01-01","2024-02-01T10:00:00Z"]}}`)
	f(`b anniversary today`, `{"trait":"b","anniversary":{"this":"day"}}`)
	f(`home within 10 km of (10.7769, 106.7009)`, `{"trait":"home","within":{"distance":10,"unit":"km","lat":10.7769,"lon":106.7009}}`)
	f(`count("Page Viewed" where path contains "/pricing" in last 7 days) > 3`, `{"count":{"event":"Page Viewed","where":{"property":"path","op":"contains","value":"/pricing"},"window":{"last":{"n":7,"unit":"days"}}},"op":">","value":3}`)
	f(`sum(revenue of "Order Completed" since 2024-01-01) >= 1000`, `{"sum":{"of":"revenue","event":"Order Completed","window":{"since":"2024-01-01"}},"op":">=","value":1000}`)
	f(`count(page "Pricing" in this week) > 3`, `{"count":{"page":"Pricing","window":{"this":"week"}},"op":">","value":3}`)
	f(`count(any event) = 0`, `{"count":{"any_event":true},"op":"=","value":0}`)
	f(`did screen in last 1 hour`, `{"did":{"screen":true,"window":{"last":{"n":1,"unit":"hours"}}}}`)
	f(`last_seen("Order Completed") before 60 days ago`, `{"last_seen":{"event":"Order Completed"},"time":{"before":{"ago":{"n":60,"unit":"days"}}}}`)
	f(`sequence("A" then not "B" where x = 1 within 1 day)`, `{"sequence":{"steps":[{"event":"A"},{"not":true,"event":"B","where":{"property":"x","op":"=","value":1}}],"within":{"n":1,"unit":"days"}}}`)
	f(`count(record "tickets" where status = "open") >= 1`, `{"count":{"record":"tickets","where":{"property":"status","op":"=","value":"open"}},"op":">=","value":1}`)
	f(`has record "accounts"`, `{"has_record":{"record":"accounts"}}`)
	f(`not in segment "vip"`, `{"not":{"in_segment":"vip"}}`)
	f(`sample(10%)`, `{"sample":10}`)
}

func TestDecodeErrors(t *testing.T) {
	f := func(in, want string) {
		t.Helper()
		_, err := tree.Decode([]byte(in))
		got := "<nil>"
		if err != nil {
			got = err.Error()
		}
		if got != want {
			t.Errorf("%s:\n got %s\nwant %s", in, got, want)
		}
	}
	f(`{"trait":"age","op":">=","value":25,"extra":1}`, `$.extra: unknown field "extra"`)
	f(`{"and":[{"trait":"a","op":"=","value":1},{"trait":"b","op":"~","value":1}]}`, `$.and[1].op: unknown operator "~" (want = != < <= > >= in, not in, exists, is missing, contains, starts with, ends with, matches)`)
	f(`{"and":[{"trait":"a","op":"exists"}]}`, `$.and: and needs at least two conditions`)
	f(`{"count":{"event":"X","window":{"last":{"n":0,"unit":"days"}}},"op":">","value":1}`, `$.count.window.last.n: duration must be a whole number between 1 and 1000000`)
	f(`{"count":{"event":"X","window":{"last":{"n":2,"unit":"fortnights"}}},"op":">","value":1}`, `$.count.window.last.unit: unknown unit (want seconds, minutes, hours, days, weeks, months or years)`)
	f(`{"count":{"event":"X","window":{"next":{"n":2,"unit":"days"}}},"op":">","value":1}`, `$.count.window: expected a window: one of last, this, since, between`)
	f(`{"count":{"event":"X","where":{"trait":"a","op":"exists"}},"op":">","value":1}`, `$.count.where.trait: unknown field "trait" (use "property" inside where)`)
	f(`{"property":"a","op":"exists"}`, `$.property: unknown field "property" (use "trait" outside where)`)
	f(`{"count":{"event":"X","where":{"did":{"event":"Y"}}},"op":">","value":1}`, `$.count.where.did: did is not allowed in a where filter`)
	f(`{"sum":{"event":"X"},"op":">","value":1}`, `$.sum: sum needs a property: "of"`)
	f(`{"count":{"event":"X"},"op":">","value":"3"}`, `$.value: expected a number, found a string`)
	f(`{"trait":"a","op":"=","value":[1]}`, `$.value: expected a value, found an array`)
	f(`{"trait":"t","time":{"before":"yesterday"}}`, `$.time.before: invalid time "yesterday" (want YYYY-MM-DD, RFC 3339 or now)`)
	f(`{"trait":"a`+"`"+`b","op":"exists"}`, "$.trait: a name cannot contain a backquote or a newline")
	f(`{"sequence":{"steps":[{"not":true,"event":"A"},{"event":"B"}],"within":{"n":1,"unit":"days"}}}`, `$.sequence.steps[0].not: only the last step of a sequence can be negated`)
	f(`{"sequence":{"steps":[{"event":"A"},{"not":true,"event":"B"}]}}`, `$.sequence: a negated step needs within`)
	f(`{"sample":10} {}`, `$: unexpected data after the JSON value`)
	f(`{"hello":1}`, `$: expected a condition (an object with and, or, not, trait, count, did, ...)`)
	f(`[1]`, `$: expected an object, found an array`)
	f(`{"trait":"age","op":">=","value":1e999}`, `$.value: number out of range: 1e999`)
}
