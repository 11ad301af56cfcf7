package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"text/tabwriter"
	"time"

	"github.com/segd/segd/internal/analytics/affinity"
	"github.com/segd/segd/internal/analytics/compute"
	"github.com/segd/segd/internal/index"
	"github.com/segd/segd/internal/store"
	"github.com/spf13/cobra"
)

type analyzeFlags struct {
	dataDir   string
	workspace string
	at        string
}

// newAnalyzeCmd is `segd analyze rfm|clv|clusters|affinity`: the analytics computed offline
// from a stopped data directory and printed as tables. Nothing is written back.
func newAnalyzeCmd() *cobra.Command {
	var f analyzeFlags
	cmd := &cobra.Command{
		Use:   "analyze",
		Short: "Print customer analytics (RFM, CLV, clusters, affinity) from a stopped data directory",
	}
	cmd.PersistentFlags().StringVar(&f.dataDir, "data", "./segd-data", "data directory of a stopped segd")
	cmd.PersistentFlags().StringVar(&f.workspace, "workspace", "default", "workspace to analyse")
	cmd.PersistentFlags().StringVar(&f.at, "at", "", "analysis date YYYY-MM-DD or RFC 3339 time (default now)")
	for _, what := range []string{"rfm", "clv", "clusters", "affinity"} {
		cmd.AddCommand(&cobra.Command{Use: what, Short: "Print the " + what + " analysis", Args: cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				return runAnalyze(cmd.Context(), cmd.OutOrStdout(), f, what)
			}})
	}
	return cmd
}

func parseAt(s string) (time.Time, error) {
	if s == "" {
		return time.Now(), nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return t, fmt.Errorf("--at %q: want YYYY-MM-DD or an RFC 3339 time", s)
	}
	return t, nil
}

func runAnalyze(ctx context.Context, out io.Writer, f analyzeFlags, what string) error {
	if ctx == nil {
		ctx = context.Background()
	}
	at, err := parseAt(f.at)
	if err != nil {
		return err
	}
	st, err := store.Open(store.Options{Dir: f.dataDir})
	if err != nil {
		return fmt.Errorf("open %s (is segd still running on it?): %w", f.dataDir, err)
	}
	defer st.Close()
	w, err := st.WorkspaceByName(f.workspace)
	if err != nil {
		return fmt.Errorf("workspace %q: %w", f.workspace, err)
	}
	loc := time.UTC
	if w.TimeZone != "" {
		if l, err := time.LoadLocation(w.TimeZone); err == nil {
			loc = l
		}
	}
	ix := index.New()
	if err := loadIndex(st, w.ID, ix); err != nil {
		return err
	}
	var cfg compute.Config
	if b, err := st.Doc(w.ID, compute.ConfigKind, compute.ConfigID); err == nil {
		if err := json.Unmarshal(b, &cfg); err != nil {
			return fmt.Errorf("analytics config of %q: %w", f.workspace, err)
		}
	}
	cfg.NoClusters = what != "clusters"
	res, err := compute.Compute(ctx, ix, compute.Options{At: at, Location: loc, Config: cfg})
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "workspace %s at %s: %d customers, %d orders (%d refunded), computed in %s\n\n",
		f.workspace, at.Format(time.DateOnly), res.Report.Customers, res.Report.Orders, res.Report.Refunded, res.Report.Took)
	tw := tabwriter.NewWriter(out, 2, 8, 2, ' ', tabwriter.AlignRight)
	defer tw.Flush()
	switch what {
	case "rfm":
		s := res.RFMSummary()
		fmt.Fprintln(tw, "group\tcustomers\torders\trevenue\t")
		for _, g := range s.Groups {
			fmt.Fprintf(tw, "%s\t%d\t%.0f\t%.2f\t\n", g.Name, g.Customers, g.Orders, g.Revenue)
		}
		fmt.Fprintln(tw, "\t\t\t\t")
		fmt.Fprintln(tw, "R\\F\t1\t2\t3\t4\t5\t")
		cells := map[[2]int]int{}
		for _, c := range s.Grid {
			cells[[2]int{c.R, c.F}] = c.Customers
		}
		for r := 5; r >= 1; r-- {
			fmt.Fprintf(tw, "%d\t", r)
			for fq := 1; fq <= 5; fq++ {
				fmt.Fprintf(tw, "%d\t", cells[[2]int{r, fq}])
			}
			fmt.Fprintln(tw)
		}
	case "clv":
		rep := res.Report
		if rep.BGNBD == nil {
			return fmt.Errorf("the purchase model could not be fitted: %s", rep.ModelError)
		}
		p := rep.BGNBD.Params
		fmt.Fprintf(out, "BG/NBD: r=%.4f alpha=%.4f a=%.4f b=%.4f  log-likelihood %.2f over %d customers\n", p["r"], p["alpha"], p["a"], p["b"], rep.BGNBD.LogLik, rep.BGNBD.Customers)
		if g := rep.GammaGamma; g != nil {
			fmt.Fprintf(out, "Gamma-Gamma: p=%.4f q=%.4f gamma=%.4f  log-likelihood %.2f over %d repeat customers\n", g.Params["p"], g.Params["q"], g.Params["gamma"], g.LogLik, g.Customers)
		}
		if h := rep.Holdout; h != nil {
			fmt.Fprintf(out, "holdout check (%d days after %s): predicted %.1f repeat purchases, actual %.0f (%+.1f%%)\n", h.Days, h.CalibrationEnd.Format(time.DateOnly), h.Predicted, h.Actual, 100*h.Error)
		}
		fmt.Fprintln(out)
		s := res.CLVSummary()
		fmt.Fprintln(tw, "churn probability\tcustomers\t")
		for _, b := range s.Churn {
			fmt.Fprintf(tw, "%.1f–%.1f\t%d\t\n", b.Low, math.Min(b.High, 1), b.Count)
		}
		fmt.Fprintln(tw, "\t\t")
		fmt.Fprintln(tw, "CLV 12 months\tcustomers\t")
		for _, b := range s.CLV {
			lo, hi := fmt.Sprintf("%.0f", b.Low), fmt.Sprintf("%.0f", b.High)
			if b.Low == -math.MaxFloat64 {
				lo = "<"
			}
			if b.High == math.MaxFloat64 {
				hi = "+"
			}
			fmt.Fprintf(tw, "%s–%s\t%d\t\n", lo, hi, b.Count)
		}
		fmt.Fprintf(tw, "total\t%.2f\t\n", s.TotalCLV)
	case "clusters":
		if res.Clusters == nil {
			return fmt.Errorf("too few customers to cluster (%d)", res.Report.Customers)
		}
		fmt.Fprintln(tw, "cluster\tcustomers\tshare\t  description")
		for _, c := range res.Clusters.Summary {
			fmt.Fprintf(tw, "%d\t%d\t%.1f%%\t  %s\n", c.ID, c.Size, 100*c.Share, c.Description)
		}
	case "affinity":
		fmt.Fprintln(tw, "if bought\tthen also\tcustomers\tsupport\tconfidence\tlift\t")
		for _, r := range res.Affinity.Rules(affinity.RuleOptions{Limit: 20}) {
			fmt.Fprintf(tw, "%s\t%s\t%d\t%.3f\t%.3f\t%.2f\t\n", r.From, r.To, r.Count, r.Support, r.Confidence, r.Lift)
		}
	}
	return nil
}
