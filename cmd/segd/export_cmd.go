package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"os"

	"github.com/spf13/cobra"

	"github.com/segd/segd/internal/segment"
)

func newExportCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "export",
		Short: "Export data from a running server",
	}
	cmd.AddCommand(newExportSegmentCmd())
	return cmd
}

func newExportSegmentCmd() *cobra.Command {
	var api segAPI
	var format, output string
	cmd := &cobra.Command{
		Use:   "segment NAME",
		Short: "Write a segment's current members with their identifiers as CSV or JSON Lines",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if format != "csv" && format != "jsonl" {
				return fmt.Errorf("--format %q: want csv or jsonl", format)
			}
			var out io.Writer = cmd.OutOrStdout()
			if output != "" && output != "-" {
				f, err := os.Create(output)
				if err != nil {
					return err
				}
				defer f.Close()
				out = f
			}
			bw := bufio.NewWriter(out)
			path := "/api/v1/segments/" + url.PathEscape(args[0]) + "/members"
			n, err := exportMembers(cmd, &api, path, format, bw)
			if err != nil {
				return err
			}
			if err := bw.Flush(); err != nil {
				return err
			}
			if output != "" && output != "-" {
				fmt.Fprintf(cmd.ErrOrStderr(), "exported %d members of %q to %s\n", n, args[0], output)
			}
			return nil
		},
	}
	api.addFlags(cmd)
	cmd.Flags().StringVar(&format, "format", "csv", "csv or jsonl")
	cmd.Flags().StringVarP(&output, "output", "o", "", "output file (default standard output)")
	return cmd
}

// exportMembers writes the members and returns how many it wrote.
func exportMembers(cmd *cobra.Command, api *segAPI, path, format string, w io.Writer) (int, error) {
	ctx := cmd.Context()
	if format == "csv" {
		resp, err := api.send(ctx, "GET", path+"?format=csv", nil)
		if err != nil {
			return 0, err
		}
		defer resp.Body.Close()
		cr := &countingReader{r: resp.Body}
		if _, err := io.Copy(w, cr); err != nil {
			return 0, err
		}
		return max(cr.lines-1, 0), nil
	}
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	n, cursor := 0, ""
	for {
		var page struct {
			Members    []segment.Member `json:"members"`
			NextCursor string           `json:"next_cursor"`
		}
		if err := api.do(ctx, "GET", path+"?limit=10000&cursor="+url.QueryEscape(cursor), nil, &page); err != nil {
			return n, err
		}
		for _, m := range page.Members {
			if err := enc.Encode(m); err != nil {
				return n, err
			}
			n++
		}
		if page.NextCursor == "" {
			return n, nil
		}
		cursor = page.NextCursor
	}
}

type countingReader struct {
	r     io.Reader
	lines int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	for _, b := range p[:n] {
		if b == '\n' {
			c.lines++
		}
	}
	return n, err
}
