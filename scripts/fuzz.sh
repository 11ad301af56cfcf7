#!/usr/bin/env bash
# Runs every fuzz target in the module for a fixed time each (default 10s).
set -euo pipefail
t="${1:-10s}"
cd "$(dirname "$0")/.."
for pkg in $(go list ./...); do
  for f in $(go test -list '^Fuzz' "$pkg" 2>/dev/null | grep '^Fuzz' || true); do
    echo "== $pkg $f ($t)"
    go test -run '^$' -fuzz "^$f\$" -fuzztime "$t" "$pkg"
  done
done
