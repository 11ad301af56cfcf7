package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/segd/segd/internal/store"
)

// newBackupCmd: "segd backup DIR" asks a running segd for an online checkpoint into DIR (a path
// on the server); "segd backup --data DATA OUT" copies a stopped data directory.
func newBackupCmd() *cobra.Command {
	var api segAPI
	var data string
	cmd := &cobra.Command{
		Use:   "backup DIR",
		Short: "Take a consistent copy of the data: online from a running segd, or offline with --data",
		Long: `Online (default): asks the segd at --url to write a Pebble checkpoint into DIR, a
directory on the server's filesystem that must not exist yet, while it keeps serving. Needs an
admin token (--token or $SEGD_ADMIN_TOKEN). The copy holds every workspace.

Offline: with --data, opens the data directory of a stopped segd and writes the copy to DIR.

Restore either kind with "segd restore DIR --data NEW".`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			out := cmd.OutOrStdout()
			if data != "" {
				start := time.Now()
				if err := offlineBackup(data, args[0]); err != nil {
					return err
				}
				fmt.Fprintf(out, "backup of %s written to %s in %s\n", data, args[0], time.Since(start).Round(time.Millisecond))
				return nil
			}
			var ans struct {
				Dir    string `json:"dir"`
				TookMS int64  `json:"tookMs"`
			}
			if err := api.do(cmd.Context(), "POST", "/api/v1/backup", map[string]string{"dir": args[0]}, &ans); err != nil {
				return fmt.Errorf("online backup: %w", err)
			}
			fmt.Fprintf(out, "backup written by the server to %s in %d ms\n", ans.Dir, ans.TookMS)
			return nil
		},
	}
	api.addFlags(cmd)
	cmd.Flags().StringVar(&data, "data", "", "data directory of a STOPPED segd to copy offline (omit for an online backup)")
	return cmd
}

func offlineBackup(data, out string) error {
	if _, err := os.Stat(out); err == nil {
		return fmt.Errorf("backup target %s already exists; choose a new directory", out)
	}
	if err := requireStore(data); err != nil {
		return err
	}
	st, err := store.Open(store.Options{Dir: data})
	if err != nil {
		return fmt.Errorf("open %s: %w (if segd is running on it, take an online backup: segd backup DIR --url ...)", data, err)
	}
	defer st.Close()
	if err := st.Checkpoint(out); err != nil {
		os.RemoveAll(out)
		return fmt.Errorf("backup to %s: %w", out, err)
	}
	return nil
}

// requireStore checks that dir looks like a Pebble data directory, so that a typo does not
// create an empty store.
func requireStore(dir string) error {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("%s: %w", dir, err)
	}
	for _, e := range ents {
		if len(e.Name()) > 8 && e.Name()[:8] == "MANIFEST" {
			return nil
		}
	}
	return fmt.Errorf("%s is not a segd data directory (no MANIFEST file)", dir)
}

func newRestoreCmd() *cobra.Command {
	var data string
	var force bool
	cmd := &cobra.Command{
		Use:   "restore BACKUP",
		Short: "Restore a backup into a data directory (segd must be stopped)",
		Long: `Copies BACKUP (made by segd backup) into --data, after checking that the copy opens.
A non-empty --data is refused unless --force, which moves the old contents aside to
DATA.before-restore-TIMESTAMP rather than deleting them.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if data == "" {
				return errors.New("set --data: the data directory to restore into")
			}
			aside, err := restore(cmd.Context(), args[0], data, force)
			if err != nil {
				return err
			}
			if aside != "" {
				fmt.Fprintf(cmd.OutOrStdout(), "previous data moved to %s\n", aside)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "restored %s into %s; start segd serve --data %s\n", args[0], data, data)
			return nil
		},
	}
	cmd.Flags().StringVar(&data, "data", "", "data directory to restore into")
	cmd.Flags().BoolVar(&force, "force", false, "replace a non-empty data directory (its contents are moved aside, not deleted)")
	return cmd
}

// restore copies backup into a temporary sibling of data, opens it to prove it is sound, and
// renames it into place. It returns where the old contents went, if anywhere.
func restore(ctx context.Context, backup, data string, force bool) (string, error) {
	if err := requireStore(backup); err != nil {
		return "", err
	}
	data = filepath.Clean(data)
	nonEmpty := false
	if ents, err := os.ReadDir(data); err == nil && len(ents) > 0 {
		nonEmpty = true
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return "", err
	}
	if nonEmpty && !force {
		return "", fmt.Errorf("%s is not empty; restore into a new directory or pass --force (the old data is moved aside)", data)
	}
	if nonEmpty {
		// a running segd holds Pebble's lock: refuse rather than pull the data from under it
		st, err := store.Open(store.Options{Dir: data})
		if err != nil {
			return "", fmt.Errorf("cannot open %s to check it is not in use: %w (stop segd first)", data, err)
		}
		st.Close()
	}
	tmp := data + ".restoring"
	os.RemoveAll(tmp)
	if err := copyTree(ctx, backup, tmp); err != nil {
		os.RemoveAll(tmp)
		return "", fmt.Errorf("copy %s: %w", backup, err)
	}
	st, err := store.Open(store.Options{Dir: tmp})
	if err != nil {
		os.RemoveAll(tmp)
		return "", fmt.Errorf("the backup %s does not open: %w", backup, err)
	}
	if err := st.Close(); err != nil {
		os.RemoveAll(tmp)
		return "", err
	}
	aside := ""
	if _, err := os.Stat(data); err == nil {
		if nonEmpty {
			aside = fmt.Sprintf("%s.before-restore-%s", data, time.Now().UTC().Format("20060102T150405"))
			if err := os.Rename(data, aside); err != nil {
				return "", err
			}
		} else if err := os.Remove(data); err != nil {
			return "", err
		}
	}
	if err := os.Rename(tmp, data); err != nil {
		return aside, err
	}
	return aside, nil
}

func copyTree(ctx context.Context, src, dst string) error {
	return filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		if !d.Type().IsRegular() {
			return fmt.Errorf("%s: not a regular file", path)
		}
		return copyFile(path, target)
	})
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Sync(); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
