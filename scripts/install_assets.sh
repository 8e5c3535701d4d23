#!/usr/bin/env bash
# Install the front-end assets the site serves (DSFR, Chart.js) into app/static/vendor/.
#
#   1. `npm ci` (non-interactive) when node_modules is missing or older than package-lock.json.
#      The DSFR package's preinstall script checks the licence acceptance recorded in the
#      committed .dsfr.yml (`accept-license: 1.0.1`); without it `npm ci` fails with [NO_YML].
#   2. Copy ONLY what the site serves (the DSFR package is ~136 MB; we need a few MB),
#      keeping DSFR's dist layout so the relative url(...) references in its CSS keep working:
#        dsfr.min.css                 -> url(fonts/...), url(icons/...)
#        utility/icons/icons.min.css  -> url(../../icons/...)
#
# Idempotent: re-running re-creates app/static/vendor/ from node_modules (app/static/vendor is
# gitignored and must never be edited by hand).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

DEST="app/static/vendor"
DSFR_SRC="node_modules/@gouvfr/dsfr/dist"
CHART_SRC="node_modules/chart.js/dist"

if ! command -v npm >/dev/null 2>&1 || ! command -v node >/dev/null 2>&1; then
    echo "install_assets: npm not found: install Node.js and npm: apt-get install nodejs npm" >&2
    exit 1
fi

# npm writes node_modules/.package-lock.json on every install: use it as the "installed" stamp.
stamp="node_modules/.package-lock.json"
if [ ! -f "$stamp" ] || [ ! -d "$DSFR_SRC" ] || [ ! -d "$CHART_SRC" ] || [ package-lock.json -nt "$stamp" ]; then
    echo "install_assets: running npm ci (node $(node --version), npm $(npm --version))..."
    start=$(date +%s)
    npm ci --no-audit --no-fund </dev/null
    echo "install_assets: npm ci done in $(( $(date +%s) - start )) s"
else
    echo "install_assets: node_modules up to date with package-lock.json, skipping npm ci"
fi

for f in "$DSFR_SRC/dsfr.min.css" "$DSFR_SRC/dsfr.module.min.js" "$DSFR_SRC/dsfr.nomodule.min.js" \
         "$DSFR_SRC/utility/icons/icons.min.css" "$DSFR_SRC/fonts" "$DSFR_SRC/icons" \
         "$CHART_SRC/chart.umd.min.js"; do
    if [ ! -e "$f" ]; then
        echo "install_assets: expected $f in node_modules, not found (package layout changed?)" >&2
        exit 1
    fi
done

# Build into a temporary directory, then swap, so a failed copy never leaves a half vendor dir.
tmp="$(mktemp -d "${DEST%/*}/.vendor.XXXXXX" 2>/dev/null || { mkdir -p "${DEST%/*}"; mktemp -d "${DEST%/*}/.vendor.XXXXXX"; })"
trap 'rm -rf "$tmp"' EXIT

mkdir -p "$tmp/dsfr/utility/icons" "$tmp/chart.js"
cp "$DSFR_SRC/dsfr.min.css" "$DSFR_SRC/dsfr.module.min.js" "$DSFR_SRC/dsfr.nomodule.min.js" "$tmp/dsfr/"
cp "$DSFR_SRC/utility/icons/icons.min.css" "$tmp/dsfr/utility/icons/"
cp -R "$DSFR_SRC/fonts" "$DSFR_SRC/icons" "$tmp/dsfr/"
[ -d "$DSFR_SRC/favicon" ] && cp -R "$DSFR_SRC/favicon" "$tmp/dsfr/"
cp node_modules/@gouvfr/dsfr/LICENSE.md "$tmp/dsfr/LICENSE.md"
cp "$CHART_SRC/chart.umd.min.js" "$tmp/chart.js/"
cp node_modules/chart.js/LICENSE.md "$tmp/chart.js/LICENSE.md" 2>/dev/null || true
chmod -R u=rwX,go=rX "$tmp"

rm -rf "$DEST"
mv "$tmp" "$DEST"
trap - EXIT

dsfr_v=$(node -p "require('./node_modules/@gouvfr/dsfr/package.json').version")
chart_v=$(node -p "require('./node_modules/chart.js/package.json').version")
echo "install_assets: copied DSFR $dsfr_v and Chart.js $chart_v into $DEST/:"
echo "  dsfr/dsfr.min.css, dsfr/utility/icons/icons.min.css"
echo "  dsfr/dsfr.module.min.js, dsfr/dsfr.nomodule.min.js"
echo "  dsfr/fonts/ ($(find "$DEST/dsfr/fonts" -type f | wc -l) files), dsfr/icons/ ($(find "$DEST/dsfr/icons" -type f | wc -l) files)$( [ -d "$DEST/dsfr/favicon" ] && echo ", dsfr/favicon/")"
echo "  chart.js/chart.umd.min.js"
echo "install_assets: total $(du -sh "$DEST" | cut -f1) in $(find "$DEST" -type f | wc -l) files"
