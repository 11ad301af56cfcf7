package main

import (
	"encoding/json"
	"fmt"

	"github.com/segd/segd/internal/store"
	"github.com/spf13/cobra"
)

func newWorkspaceCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "workspace", Short: "Manage workspaces on a stopped data directory"}
	var dir string
	var allowPrivate bool
	create := &cobra.Command{
		Use:   "create NAME",
		Short: "Create a workspace and print its new keys as JSON",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			st, err := store.Open(store.Options{Dir: dir})
			if err != nil {
				return fmt.Errorf("%w (is segd serve running on this data dir? stop it first)", err)
			}
			defer st.Close()
			w, keys, err := st.CreateWorkspace(args[0], store.Keys{})
			if err != nil {
				return err
			}
			if allowPrivate {
				w.AllowPrivateDestinations = true
				if err := st.PutWorkspace(w); err != nil {
					return err
				}
			}
			enc := json.NewEncoder(cmd.OutOrStdout())
			enc.SetIndent("", "  ")
			return enc.Encode(keys)
		},
	}
	create.Flags().StringVar(&dir, "data", "./segd-data", "data directory")
	create.Flags().BoolVar(&allowPrivate, "allow-private-destinations", false, "let this workspace's webhooks target loopback and private addresses")
	list := &cobra.Command{
		Use:   "list",
		Short: "List workspaces",
		RunE: func(cmd *cobra.Command, args []string) error {
			st, err := store.Open(store.Options{Dir: dir})
			if err != nil {
				return err
			}
			defer st.Close()
			all, err := st.Workspaces()
			if err != nil {
				return err
			}
			for _, w := range all {
				fmt.Fprintf(cmd.OutOrStdout(), "%d\t%s\t%s\n", w.ID, w.Name, w.TimeZone)
			}
			return nil
		},
	}
	list.Flags().StringVar(&dir, "data", "./segd-data", "data directory")
	cmd.AddCommand(create, list)
	return cmd
}
