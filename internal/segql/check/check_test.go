package check_test

import (
	"bufio"
	"os"
	"strings"
	"testing"

	"github.com/segd/segd/internal/segql/ast"
	"github.com/segd/segd/internal/segql/check"
	"github.com/segd/segd/internal/segql/parser"
	"github.com/segd/segd/internal/segql/scanner"
)

func field(k check.Kind) check.Field { return check.Field{Kind: k, Count: 10} }

// testSchema is a small workspace in which every example of the issue checks.
func testSchema() *check.Schema {
	s := &check.Schema{
		Traits: map[string]check.Field{
			"country": field(check.Text), "age": field(check.Number), "email": field(check.Text),
			"plan": field(check.Text), "first name": field(check.Text), "city": field(check.Text),
			"signup_at": field(check.Time), "birthday": field(check.Time), "home": field(check.Geo),
			"tags": field(check.List), "newsletter": field(check.Bool),
		},
		Events: map[string]check.EventType{
			"Page Viewed":     {Count: 5, Properties: map[string]check.Field{"path": field(check.Text)}},
			"Product Added":   {Count: 5, Properties: map[string]check.Field{"price": field(check.Number), "category": field(check.Text)}},
			"Product Viewed":  {Count: 5, Properties: map[string]check.Field{"category": field(check.Text)}},
			"Order Completed": {Count: 5, Properties: map[string]check.Field{"revenue": field(check.Number), "coupon": field(check.Text)}},
			"Email Opened":    {Count: 5},
		},
		Page: check.EventType{Properties: map[string]check.Field{"path": field(check.Text)}},
		RecordTypes: map[string]check.RecordType{
			"tickets":  {Count: 3, Attributes: map[string]check.Field{"status": field(check.Text), "priority": field(check.Text)}},
			"accounts": {Count: 3, Attributes: map[string]check.Field{"type": field(check.Text), "balance": field(check.Number)}},
		},
		Segments: map[string]check.SegmentInfo{
			"vip":          {},
			"unsubscribed": {},
			"loyal":        {DependsOn: []string{"vip"}},
			"big":          {DependsOn: []string{"loyal"}},
		},
	}
	return s.WithComputed()
}

func TestExamplesCheck(t *testing.T) {
	f, err := os.Open("../parser/testdata/examples.segql")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	n := 0
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		n++
		file, x, errs := parser.Parse("", line)
		if len(errs) > 0 {
			t.Fatalf("%s: %v", line, errs)
		}
		_, errs = check.Check(file, x, testSchema(), check.Options{Segment: "new"})
		if len(errs) > 0 {
			t.Errorf("%s:\n%v", line, errs)
		}
	}
	if n < 22 {
		t.Fatalf("only %d examples", n)
	}
}

func TestCheckErrors(t *testing.T) {
	f := func(segment, src, want string) {
		t.Helper()
		file, x, errs := parser.Parse("", src)
		if len(errs) > 0 {
			t.Fatalf("%s: parse: %v", src, errs)
		}
		_, errs = check.Check(file, x, testSchema(), check.Options{Segment: segment})
		got := errs.Error()
		if len(errs) == 0 {
			got = ""
		}
		if got != want {
			t.Errorf("%s:\n got %s\nwant %s", src, got, want)
		}
	}
	f("", `contry = "VN"`, `1:1: unknown trait "contry" (did you mean "country"?)`)
	f("", `country >= 5`, `1:12: cannot compare text trait "country" with number 5`)
	f("", `did "Order Complted"`, `1:5: unknown event "Order Complted" (did you mean "Order Completed"?)`)
	f("", `count("Order Complted") > 1`, `1:7: unknown event "Order Complted" (did you mean "Order Completed"?)`)
	f("", `did "Webinar Joined"`, `1:5: warning: event "Webinar Joined" has not been seen yet`)
	f("", `age = "x" and contry = "VN" and zzzzzzzz = 1`, "1:7: cannot compare number trait \"age\" with text \"x\"\n1:15: unknown trait \"contry\" (did you mean \"country\"?)\n1:33: unknown trait \"zzzzzzzz\"")
	f("", `churn_probability > 70% and lifecycle_stage = "at risk"`, ``)
	f("", `country > "VN"`, `1:11: cannot order text trait "country": use = or !=`)
	f("", `newsletter = true and newsletter != false`, ``)
	f("", `home = 3`, `1:8: cannot compare geo trait "home": use within D km of (lat, lon)`)
	f("", `country within 1 km of (1, 2)`, `1:1: within needs a geo trait, but "country" is a text`)
	f("", `home within 1 km of (91, 2)`, `1:22: latitude 91 is outside -90..90`)
	f("", `age in [1, "two"]`, `1:12: cannot compare number trait "age" with text "two"`)
	f("", `tags in ["a", "b"] and tags contains "vip"`, ``)
	f("", `tags starts with "v"`, `1:18: cannot use starts with on list trait "tags"`)
	f("", `city matches "(("`, `1:14: invalid regular expression "((": missing closing ): "(("`)
	f("", `age in last 3 days`, `1:1: a time condition needs a time trait, but "age" is a number`)
	f("", `signup_at > 30 days ago and signup_at < now`, ``)
	f("", `signup_at > 30`, `1:13: cannot compare time trait "signup_at" with number 30`)
	f("", `birthday anniversary in this year`, `1:22: an anniversary falls in every year: use today, in this week or in this month`)
	f("", `count("Page Viewed" where pth contains "/") > 1`, `1:27: unknown property "pth" of event "Page Viewed" (did you mean "path"?)`)
	f("", `count("Page Viewed" where referrer exists) > 1`, `1:27: warning: property "referrer" has not been seen on event "Page Viewed"`)
	f("", `count("Page Viewed" where path = 3) > 1`, `1:34: cannot compare text property "path" with number 3`)
	f("", `sum(coupon of "Order Completed") > 1`, `1:5: sum needs a number property, but "coupon" is a text`)
	f("", `count(record "ticket") > 1`, `1:7: unknown record type "ticket" (did you mean "tickets"?)`)
	f("", `count(record "tickets" in last 3 days) > 1`, `1:24: records have no event time: a window applies to events only`)
	f("", `has record "accounts" where balanse > 3`, `1:29: unknown attribute "balanse" of record type "accounts" (did you mean "balance"?)`)
	f("", `count("Email Opened" between 2024-12-01 and 2024-11-01) > 1`, `1:22: between 2024-12-01 and 2024-11-01 is empty: the start must be before the end`)
	f("", `count("Email Opened") < -1`, `1:25: count is never negative: compare with 0 or more`)
	f("", `in segment "vpi"`, `1:12: unknown segment "vpi" (did you mean "vip"?)`)
	f("vip", `in segment "vip"`, `1:12: segment "vip" cannot refer to itself`)
	f("vip", `in segment "big"`, `1:12: segment cycle: "vip" → "big" → "loyal" → "vip"`)
	f("other", `in segment "big"`, ``)
	f("", `sample(0%)`, `1:8: sample percentage must be above 0% and at most 100%, found 0%`)
	f("", `sample(150%)`, `1:8: sample percentage must be above 0% and at most 100%, found 150%`)
}

func TestFreshWorkspace(t *testing.T) {
	file, x, errs := parser.Parse("", `age > 3 and did "Signed Up" and count(record "tickets") > 0`)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	_, errs = check.Check(file, x, (&check.Schema{}).WithComputed(), check.Options{})
	if errs.HasErrors() {
		t.Fatalf("a fresh workspace must only warn: %v", errs)
	}
	want := []scanner.Code{check.UnverifiedTrait, scanner.UnverifiedEvent, check.UnverifiedRecordType}
	if len(errs) != len(want) {
		t.Fatalf("got %v", errs)
	}
	for i, e := range errs {
		if e.Code != want[i] || e.Severity != scanner.SevWarning {
			t.Errorf("warning %d: got %s %v", i, e.Code, e)
		}
	}
}

func TestInfo(t *testing.T) {
	src := `country = "VN" and count("Order Completed" where revenue > 10 in last 7 days) >= 1 and in segment "vip" and city matches "^Ho"`
	file, x, _ := parser.Parse("", src)
	info, errs := check.Check(file, x, testSchema(), check.Options{})
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	if !info.TimeDependent {
		t.Error("in last 7 days must make the segment time dependent")
	}
	if got := strings.Join(info.Traits, ","); got != "city,country" {
		t.Errorf("traits %q", got)
	}
	if got := strings.Join(info.Events, ","); got != "Order Completed" {
		t.Errorf("events %q", got)
	}
	if got := strings.Join(info.Segments, ","); got != "vip" {
		t.Errorf("segments %q", got)
	}
	kinds := map[string]check.NameInfo{}
	ast.Inspect(x, func(n ast.Node) bool {
		if id, ok := n.(*ast.Ident); ok {
			kinds[id.Name] = info.Names[id]
		}
		return true
	})
	if k := kinds["revenue"]; k.Kind != check.Number || k.Scope != check.PropertyScope || k.Owner != "Order Completed" {
		t.Errorf("revenue resolved to %+v", k)
	}
	if k := kinds["country"]; k.Kind != check.Text || k.Scope != check.TraitScope {
		t.Errorf("country resolved to %+v", k)
	}
	if len(info.Regexps) != 1 {
		t.Errorf("regexps %v", info.Regexps)
	}
	static, _ := parser.ParseExpr(`country = "VN"`)
	if info, _ := check.Check(nil, static, testSchema(), check.Options{}); info.TimeDependent {
		t.Error("a trait comparison is not time dependent")
	}
}
