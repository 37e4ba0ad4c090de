#!/usr/bin/env bash
# Refreshes docs/screenshots/*.png from the browser end-to-end test, which drives the dashboard in
# headless Chromium against a seeded server and saves a screenshot of every page.
# Needs Chromium (`apt-get install -y chromium`). Run from anywhere.
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/sentinel-target}"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT

command -v chromium >/dev/null || [ -x "${SENTINEL_CHROMIUM:-/usr/bin/chromium}" ] || {
  echo "Chromium is missing: apt-get install -y chromium" >&2
  exit 1
}

SENTINEL_SCREENSHOTS="$out" cargo test --locked -p sentinel-server --test browser \
  -- dashboard_end_to_end --exact --nocapture

mkdir -p docs/screenshots
rm -f docs/screenshots/*.png
cp "$out"/*.png docs/screenshots/
ls -1 docs/screenshots
