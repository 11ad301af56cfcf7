package main

import "github.com/spf13/cobra"

func newImportCmd() *cobra.Command {
	return &cobra.Command{Use: "import", Short: "Import events, profiles or records from files"}
}
