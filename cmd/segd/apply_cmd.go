package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/spf13/cobra"
	"gopkg.in/yaml.v3"

	"github.com/segd/segd/internal/segment"
	"github.com/segd/segd/internal/segql/parser"
	"github.com/segd/segd/internal/segql/printer"
)

// segSpec is one segment-as-code file (YAML or JSON).
type segSpec struct {
	Name        string   `json:"name" yaml:"name"`
	Description string   `json:"description" yaml:"description"`
	Query       string   `json:"query" yaml:"query"`
	Mode        string   `json:"mode" yaml:"mode"`
	Schedule    string   `json:"schedule" yaml:"schedule"`
	Tags        []string `json:"tags" yaml:"tags"`

	file string
	deps []string
}

func newApplyCmd() *cobra.Command {
	var api segAPI
	var dir string
	var dryRun, prune bool
	cmd := &cobra.Command{
		Use:   "apply -f DIR",
		Short: "Make the server's segments match a directory of segment files (segments as code)",
		Long: `apply reads every *.yaml, *.yml and *.json file in DIR, one segment per file with the fields
name, description, query, mode (realtime, scheduled or snapshot; default realtime), schedule and
tags. It compares them by name with the server's segments, prints the plan (create, change, delete,
unchanged) and carries it out. Queries are compared in canonical form, so reformatting a file
changes nothing. With --prune, segments that are not in DIR are deleted (snapshot segments are
never pruned). Applying the same directory twice changes nothing the second time.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if dir == "" {
				return errors.New("-f DIR is required")
			}
			specs, err := readSpecs(dir)
			if err != nil {
				return err
			}
			return applySpecs(cmd, &api, specs, dryRun, prune)
		},
	}
	api.addFlags(cmd)
	cmd.Flags().StringVarP(&dir, "file", "f", "", "directory of segment files")
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "print the plan and change nothing")
	cmd.Flags().BoolVar(&prune, "prune", false, "delete segments that are not defined in DIR")
	return cmd
}

// readSpecs reads and validates the segment files of dir, sorted by file name.
func readSpecs(dir string) ([]*segSpec, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var specs []*segSpec
	names := map[string]string{}
	for _, e := range entries {
		ext := strings.ToLower(filepath.Ext(e.Name()))
		if e.IsDir() || (ext != ".yaml" && ext != ".yml" && ext != ".json") {
			continue
		}
		path := filepath.Join(dir, e.Name())
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		s := &segSpec{file: path}
		if ext == ".json" {
			dec := json.NewDecoder(bytes.NewReader(b))
			dec.DisallowUnknownFields()
			err = dec.Decode(s)
		} else {
			dec := yaml.NewDecoder(bytes.NewReader(b))
			dec.KnownFields(true)
			if err = dec.Decode(s); errors.Is(err, io.EOF) {
				err = errors.New("empty file")
			}
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if s.Name == "" {
			return nil, fmt.Errorf("%s: name is required", path)
		}
		if other, dup := names[s.Name]; dup {
			return nil, fmt.Errorf("%s: segment %q is also defined in %s", path, s.Name, other)
		}
		names[s.Name] = path
		if s.Mode == "" {
			s.Mode = segment.ModeRealtime
		}
		if s.Mode == segment.ModeScheduled && s.Schedule == "" {
			s.Schedule = "1h"
		}
		_, x, errs := parser.Parse(path, s.Query)
		if errs.HasErrors() {
			return nil, fmt.Errorf("%s: query:\n%w", path, errs.Errors())
		}
		s.Query = printer.String(x)
		c, _ := segment.Format(s.Query)
		s.deps = segmentDeps(c.Tree)
		if len(s.Tags) == 0 {
			s.Tags = nil
		}
		specs = append(specs, s)
	}
	return specs, nil
}

// segmentDeps lists the in_segment names of a JSON tree.
func segmentDeps(tree json.RawMessage) []string {
	var out []string
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, c := range x {
				if s, ok := c.(string); ok && k == "in_segment" {
					out = append(out, s)
				}
				walk(c)
			}
		case []any:
			for _, c := range x {
				walk(c)
			}
		}
	}
	var v any
	if json.Unmarshal(tree, &v) == nil {
		walk(v)
	}
	sort.Strings(out)
	return slices.Compact(out)
}

// diff lists what differs between a spec and the server's segment.
func diff(s *segSpec, cur segment.Segment) []string {
	var d []string
	if s.Description != cur.Description {
		d = append(d, "description")
	}
	if s.Query != cur.Query {
		d = append(d, "query")
	}
	if s.Mode != cur.Mode {
		d = append(d, "mode")
	}
	if s.Schedule != cur.Schedule {
		d = append(d, "schedule")
	}
	if !slices.Equal(s.Tags, cur.Tags) {
		d = append(d, "tags")
	}
	return d
}

// dependencyOrder sorts specs so that each comes after the specs it refers to (file order
// otherwise); a cycle is left to the server to reject with its message.
func dependencyOrder(specs []*segSpec) []*segSpec {
	byName := map[string]*segSpec{}
	for _, s := range specs {
		byName[s.Name] = s
	}
	var out []*segSpec
	state := map[string]int{} // 1 visiting, 2 done
	var visit func(s *segSpec)
	visit = func(s *segSpec) {
		if state[s.Name] != 0 {
			return
		}
		state[s.Name] = 1
		for _, d := range s.deps {
			if ds := byName[d]; ds != nil {
				visit(ds)
			}
		}
		state[s.Name] = 2
		out = append(out, s)
	}
	for _, s := range specs {
		visit(s)
	}
	return out
}

func applySpecs(cmd *cobra.Command, api *segAPI, specs []*segSpec, dryRun, prune bool) error {
	ctx := cmd.Context()
	out := cmd.OutOrStdout()
	var list struct {
		Segments []segment.Segment `json:"segments"`
	}
	if err := api.do(ctx, "GET", "/api/v1/segments?sizes=false", nil, &list); err != nil {
		return err
	}
	current := map[string]segment.Segment{}
	for _, s := range list.Segments {
		current[s.Name] = s
	}
	type step struct {
		op   string // create, change, delete
		spec *segSpec
		seg  segment.Segment
	}
	var steps []step
	var creates, changes, deletes, unchanged int
	for _, s := range dependencyOrder(specs) {
		cur, ok := current[s.Name]
		switch d := diff(s, cur); {
		case !ok:
			fmt.Fprintf(out, "create    %q\n", s.Name)
			steps = append(steps, step{op: "create", spec: s})
			creates++
		case len(d) > 0:
			fmt.Fprintf(out, "change    %q (%s)\n", s.Name, strings.Join(d, ", "))
			steps = append(steps, step{op: "change", spec: s, seg: cur})
			changes++
		default:
			fmt.Fprintf(out, "unchanged %q\n", s.Name)
			unchanged++
		}
	}
	if prune {
		inDir := map[string]bool{}
		for _, s := range specs {
			inDir[s.Name] = true
		}
		// delete dependents before what they depend on: reverse dependency order
		var gone []*segSpec
		for _, seg := range list.Segments {
			if !inDir[seg.Name] && seg.Mode != segment.ModeSnapshot {
				c, err := segment.Format(seg.Query)
				deps := []string(nil)
				if err == nil {
					deps = segmentDeps(c.Tree)
				}
				gone = append(gone, &segSpec{Name: seg.Name, deps: deps})
			}
		}
		ordered := dependencyOrder(gone)
		for i := len(ordered) - 1; i >= 0; i-- {
			fmt.Fprintf(out, "delete    %q\n", ordered[i].Name)
			steps = append(steps, step{op: "delete", seg: current[ordered[i].Name]})
			deletes++
		}
	}
	fmt.Fprintf(out, "plan: %d to create, %d to change, %d to delete, %d unchanged\n", creates, changes, deletes, unchanged)
	if dryRun {
		fmt.Fprintln(out, "dry run: nothing changed")
		return nil
	}
	for _, st := range steps {
		var err error
		switch st.op {
		case "create", "change":
			s := st.spec
			tags := s.Tags
			if tags == nil {
				tags = []string{}
			}
			body := map[string]any{"name": s.Name, "description": s.Description, "query": s.Query, "mode": s.Mode, "tags": tags}
			if s.Schedule != "" {
				body["schedule"] = s.Schedule
			}
			if st.op == "create" {
				err = api.do(ctx, "POST", "/api/v1/segments", body, nil)
			} else {
				err = api.do(ctx, "PUT", "/api/v1/segments/"+url.PathEscape(st.seg.ID), body, nil)
			}
			if err != nil {
				err = fmt.Errorf("%s %q (%s): %w", st.op, s.Name, s.file, err)
			}
		case "delete":
			if err = api.do(ctx, "DELETE", "/api/v1/segments/"+url.PathEscape(st.seg.ID), nil, nil); err != nil {
				err = fmt.Errorf("delete %q: %w", st.seg.Name, err)
			}
		}
		if err != nil {
			return err
		}
	}
	if len(steps) > 0 {
		fmt.Fprintf(out, "applied %d change(s)\n", len(steps))
	}
	return nil
}
