#!/bin/sh
# refresh-ui-vendor.sh refreshes the browser libraries embedded in internal/ui from npm.
# Usage: scripts/refresh-ui-vendor.sh [htmx-version] [uplot-version]
# Needs npm and tar; the product build never runs it.
set -eu
HTMX=${1:-2}
UPLOT=${2:-1}
root=$(cd "$(dirname "$0")/.." && pwd)
dst="$root/internal/ui/static/vendor"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
npm pack --silent "htmx.org@$HTMX" >/dev/null
npm pack --silent "uplot@$UPLOT" >/dev/null
mkdir htmx uplot
tar xzf htmx.org-*.tgz -C htmx --strip-components=1
tar xzf uplot-*.tgz -C uplot --strip-components=1
cp htmx/dist/htmx.min.js "$dst/htmx.min.js"
cp htmx/LICENSE "$dst/LICENSE.htmx"
cp uplot/dist/uPlot.iife.min.js uplot/dist/uPlot.min.css "$dst/"
cp uplot/LICENSE "$dst/LICENSE.uplot"
hv=$(node -p 'require("./htmx/package.json").version' 2>/dev/null || sed -n 's/.*"version": *"\([^"]*\)".*/\1/p' htmx/package.json | head -1)
uv=$(node -p 'require("./uplot/package.json").version' 2>/dev/null || sed -n 's/.*"version": *"\([^"]*\)".*/\1/p' uplot/package.json | head -1)
sed -i "s/^| \`htmx.min.js\` \(.*\) | [0-9][^|]* | /| \`htmx.min.js\` \1 | $hv | /" "$dst/README.md"
sed -i "s/^| \`uPlot.iife.min.js\`, \`uPlot.min.css\` \(.*\) | [0-9][^|]* | /| \`uPlot.iife.min.js\`, \`uPlot.min.css\` \1 | $uv | /" "$dst/README.md"
echo "htmx $hv, uPlot $uv copied to $dst; update the versions in README.md if the table did not change"
