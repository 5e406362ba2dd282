#!/usr/bin/env bash
# The set-up of docs/getting-started.md as a new user meets it: `npm ci` in a clean copy of the repository (no
# node_modules, no dist) with pkg-config pointed at an empty folder, so that no native module can
# build against system libraries (cairo, pango, ...), then `maestro train configs/doa-mvp.yaml` with
# its plots. Fails if npm warns about install scripts that package.json's allowScripts does not
# cover, if a native build was attempted, or if the run or its plots are missing.
# Usage: bash scripts/check-fresh-install.sh   (needs the npm registry; ~1 min)
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d "${TMPDIR:-/tmp}/maestro-fresh-XXXXXX")"
trap 'rm -rf "$work"' EXIT
copy="$work/maestro"
empty="$work/empty-pkgconfig"
mkdir -p "$copy" "$empty"

# the files the repository tracks, as a clone has them
(cd "$repo" && git ls-files -z --cached --others --exclude-standard | tar --null --ignore-failed-read -T - -cf -) | tar -xf - -C "$copy"
rm -rf "$copy/node_modules" "$copy/dist"

log="$work/npm-ci.log"
install() {
  (cd "$copy" && PKG_CONFIG_PATH="$empty" PKG_CONFIG_LIBDIR="$empty" timeout 900 npm ci --no-audit --no-fund >"$log" 2>&1)
}
if ! install; then
  # one retry for a flaky registry connection; a real failure fails twice
  echo "fresh install: npm ci failed once, retrying" >&2
  tail -n 20 "$log" >&2
  rm -rf "$copy/node_modules"
  if ! install; then
    echo "fresh install: npm ci failed in a clean copy:" >&2
    tail -n 60 "$log" >&2
    exit 1
  fi
fi
fail=0
if grep -q "install-scripts" "$log"; then
  echo "fresh install: npm warns about install scripts that package.json allowScripts does not cover:" >&2
  grep "install-scripts" "$log" >&2
  fail=1
fi
if grep -qE "gyp (info|ERR)|node-gyp rebuild|prebuild-install" "$log"; then
  echo "fresh install: a native build was attempted:" >&2
  grep -E "gyp (info|ERR)|node-gyp rebuild|prebuild-install" "$log" | head -n 20 >&2
  fail=1
fi
if [ -e "$copy/node_modules/canvas" ]; then
  echo "fresh install: node-canvas (needs cairo) was installed" >&2
  fail=1
fi
[ "$fail" = 0 ] || exit 1

run="$work/run"
(cd "$copy" && timeout 300 node dist/bin/maestro.js train configs/doa-mvp.yaml --run-dir "$run" --quiet --set log.plot=true)
for f in summary.json metrics.csv plots/learning-curve.png plots/structure.png; do
  if [ ! -s "$run/$f" ]; then
    echo "fresh install: the run wrote no $f" >&2
    exit 1
  fi
done
for f in plots/learning-curve.png plots/structure.png; do
  if [ "$(head -c 8 "$run/$f" | od -An -tx1 | tr -d ' \n')" != "89504e470d0a1a0a" ]; then
    echo "fresh install: $f is not a PNG" >&2
    exit 1
  fi
done
echo "fresh install: npm ci in a clean copy (no pkg-config libraries) and train configs/doa-mvp.yaml with plots: ok"
