package main

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/segd/segd/internal/segql/parser"
	"github.com/segd/segd/internal/segql/printer"
)

func newFmtCmd() *cobra.Command {
	var write bool
	cmd := &cobra.Command{
		Use:   "fmt [-w] [FILE...]",
		Short: "Print SegQL files in canonical form (offline); -w rewrites them",
		Long: `fmt parses each FILE (standard input when none is given) and prints its canonical text, as
the server stores it. With -w the files are rewritten in place instead. Syntax errors are printed as
FILE:line:col: message and make the exit status nonzero. fmt does not check names against a
workspace schema (that needs a server: segd query or POST /api/v1/segql/check).`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				if write {
					return errors.New("-w needs file names")
				}
				src, err := io.ReadAll(cmd.InOrStdin())
				if err != nil {
					return err
				}
				out, err := formatSegQL("<stdin>", string(src))
				if err != nil {
					return err
				}
				_, err = io.WriteString(cmd.OutOrStdout(), out)
				return err
			}
			failed := 0
			for _, name := range args {
				src, err := os.ReadFile(name)
				if err != nil {
					return err
				}
				out, err := formatSegQL(name, string(src))
				if err != nil {
					fmt.Fprintln(cmd.ErrOrStderr(), err)
					failed++
					continue
				}
				if !write {
					io.WriteString(cmd.OutOrStdout(), out)
					continue
				}
				if out != string(src) {
					if err := os.WriteFile(name, []byte(out), 0o644); err != nil {
						return err
					}
				}
			}
			if failed > 0 {
				return fmt.Errorf("%d file(s) with errors", failed)
			}
			return nil
		},
	}
	cmd.Flags().BoolVarP(&write, "write", "w", false, "rewrite the files with the canonical text")
	return cmd
}

// formatSegQL returns the canonical text of src with a final newline, or every syntax error
// as "name:line:col: message" lines.
func formatSegQL(name, src string) (string, error) {
	_, x, errs := parser.Parse(name, src)
	if errs.HasErrors() {
		return "", errs.Errors()
	}
	return printer.String(x) + "\n", nil
}
