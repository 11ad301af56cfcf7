package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/segd/segd/internal/engine"
	"github.com/segd/segd/internal/segment"
)

// segAPI is the management API client of the query, apply and export commands: --url and
// --token (default $SEGD_ADMIN_TOKEN).
type segAPI struct {
	url, token string
	client     *http.Client
}

func (a *segAPI) addFlags(cmd *cobra.Command) {
	cmd.Flags().StringVar(&a.url, "url", "http://127.0.0.1:8080", "base URL of a running segd")
	cmd.Flags().StringVar(&a.token, "token", "", "admin token (default $SEGD_ADMIN_TOKEN)")
}

// segAPIError is an error answer; Diagnostics holds a query's errors, one "line:col: msg" each.
type segAPIError struct {
	Status      int
	Code, Msg   string
	Path        string
	Diagnostics []string
}

func (e *segAPIError) Error() string {
	if len(e.Diagnostics) > 0 {
		return strings.Join(e.Diagnostics, "\n")
	}
	msg := fmt.Sprintf("server answered %d %s: %s", e.Status, e.Code, e.Msg)
	if e.Path != "" {
		msg += " (at " + e.Path + ")"
	}
	return msg
}

// do sends body (JSON) and decodes the answer into out; a non-2xx answer is a *segAPIError.
func (a *segAPI) do(ctx context.Context, method, path string, body, out any) error {
	resp, err := a.send(ctx, method, path, body)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if out == nil {
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("%s %s: decode answer: %w", method, path, err)
	}
	return nil
}

// send returns the response of a 2xx answer; the caller closes its body.
func (a *segAPI) send(ctx context.Context, method, path string, body any) (*http.Response, error) {
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(a.url, "/")+path, r)
	if err != nil {
		return nil, err
	}
	token := a.token
	if token == "" {
		token = os.Getenv("SEGD_ADMIN_TOKEN")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	c := a.client
	if c == nil {
		c = &http.Client{Timeout: 5 * time.Minute}
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w (is segd serve running there? set --url)", method, path, err)
	}
	if resp.StatusCode/100 == 2 {
		return resp, nil
	}
	defer resp.Body.Close()
	var eb struct {
		Error struct {
			Code, Message, Path string
		} `json:"error"`
		Errors []segment.Diagnostic `json:"errors"`
	}
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	e := &segAPIError{Status: resp.StatusCode}
	if json.Unmarshal(b, &eb) == nil {
		e.Code, e.Msg, e.Path = eb.Error.Code, eb.Error.Message, eb.Error.Path
		for _, d := range eb.Errors {
			e.Diagnostics = append(e.Diagnostics, d.Text)
		}
	} else {
		e.Msg = strings.TrimSpace(string(b))
	}
	return nil, e
}

func newQueryCmd() *cobra.Command {
	var api segAPI
	var at string
	var explain bool
	var limit int
	cmd := &cobra.Command{
		Use:   "query 'SEGQL'",
		Short: "Evaluate a SegQL condition on a running server: count, sample of profile ids, time",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			req := map[string]any{"query": args[0], "explain": explain, "limit": limit}
			if at != "" {
				t, err := time.Parse(time.RFC3339, at)
				if err != nil {
					return fmt.Errorf("--at %q: want an RFC 3339 time such as 2025-01-01T00:00:00Z", at)
				}
				req["at"] = t
			}
			var ans segment.QueryAnswer
			if err := api.do(cmd.Context(), "POST", "/api/v1/query", req, &ans); err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			for _, w := range ans.Warnings {
				fmt.Fprintln(cmd.ErrOrStderr(), "warning:", w.Text)
			}
			fmt.Fprintf(out, "query:  %s\n", ans.Query)
			fmt.Fprintf(out, "at:     %s\n", ans.At.Format(time.RFC3339))
			fmt.Fprintf(out, "count:  %d\n", ans.Count)
			ids := make([]string, len(ans.Sample))
			for i, id := range ans.Sample {
				ids[i] = fmt.Sprint(id)
			}
			fmt.Fprintf(out, "sample: %s\n", strings.Join(ids, " "))
			fmt.Fprintf(out, "time:   %.3f ms\n", ans.TookMS)
			if ans.Plan != nil {
				fmt.Fprintln(out, "plan:")
				printPlan(out, ans.Plan, 1)
			}
			return nil
		},
	}
	api.addFlags(cmd)
	cmd.Flags().StringVar(&at, "at", "", "evaluation time (RFC 3339); default now")
	cmd.Flags().BoolVar(&explain, "explain", false, "show the plan with the profiles each step keeps")
	cmd.Flags().IntVar(&limit, "limit", 10, "number of sample profile ids")
	return cmd
}

// printPlan prints a plan as an indented tree: step, profiles kept, time.
func printPlan(w io.Writer, p *engine.Plan, depth int) {
	note := ""
	if p.Skipped {
		note = " (skipped)"
	}
	fmt.Fprintf(w, "%s%s  kept %d  %.3f ms%s\n", strings.Repeat("  ", depth), p.Step, p.Kept, float64(p.Took.Microseconds())/1000, note)
	for _, c := range p.Children {
		printPlan(w, c, depth+1)
	}
}
