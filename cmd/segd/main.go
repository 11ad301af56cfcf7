// Command segd is the segd customer data platform: one binary with sub-commands to serve, load
// demo data, import files, query segments and manage workspaces. main only wires: it builds the
// components from flags, runs them, waits for a signal and stops them in reverse order.
package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	if err := newRoot().Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "segd:", err)
		os.Exit(1)
	}
}

func newRoot() *cobra.Command {
	root := &cobra.Command{
		Use:           "segd",
		Short:         "segd: customer data platform with real-time segmentation",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(newServeCmd(), newDemoCmd(), newImportCmd(), newWorkspaceCmd(), newVersionCmd(), newQueryCmd(), newFmtCmd(), newApplyCmd(), newExportCmd(), newAnalyzeCmd(), newBackupCmd(), newRestoreCmd())
	return root
}

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the segd version",
		Run: func(cmd *cobra.Command, _ []string) {
			fmt.Fprintln(cmd.OutOrStdout(), "segd", version)
		},
	}
}
