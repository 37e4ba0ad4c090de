#!/usr/bin/env bash
# Refreshes the vendored ReDoc bundle from the unmodified npm release.
# ReDoc is pinned to 2.x: 3.x sends telemetry. The bundle is embedded in the binary so /redoc works offline.
set -euo pipefail
version="${1:-2.5.4}"
here="$(cd "$(dirname "$0")/.." && pwd)"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack "redoc@${version}" >/dev/null && tar xzf "redoc-${version}.tgz")
cp "$tmp/package/bundles/redoc.standalone.js" "$tmp/package/bundles/redoc.standalone.js.LICENSE.txt" "$tmp/package/LICENSE" "$here/vendor/redoc/"
echo "$version" > "$here/vendor/redoc/VERSION"
echo "vendored redoc@${version}"
