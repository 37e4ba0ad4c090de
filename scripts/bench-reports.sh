#!/usr/bin/env bash
# The compliance and usage reports over a large store (issue 15, item 5: ≤ 2 s over 1,000,000
# events, read from the counters and rollups): seeds a store unless it already holds events,
# serves it, and prints the median latency of each report route (wrk, one connection) and the
# wall time of `sentinel report export` (the whole process: start, report, audit verification,
# PDF, zip).
#
#   scripts/bench-reports.sh [EVENTS] [DATABASE_URL]
#
# Defaults: 1,000,000 events, a new SQLite file under /var/tmp. Release build (or SENTINEL_BIN);
# needs wrk and curl.
set -euo pipefail
cd "$(dirname "$0")/.."
events="${1:-1000000}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/sentinel-target}"
if [ -n "${SENTINEL_BIN:-}" ]; then
  bin="$SENTINEL_BIN" # a release binary built beforehand
else
  cargo build --release --quiet --locked -p sentinel-cli
  bin="$CARGO_TARGET_DIR/release/sentinel"
fi
work="$(mktemp -d /var/tmp/sentinel-reports.XXXX)"
url="${2:-sqlite://$work/sentinel.db?mode=rwc}"
port=18081

if [ -z "${2:-}" ]; then
  echo "# seed: $events events into ${url%%\?*}"
  /usr/bin/time -f "# seed took %e s" "$bin" seed --database-url "$url" --events "$events" --seed 7
else
  echo "# store: $url (seeded beforehand with: sentinel seed --database-url URL --events $events --seed 7)"
fi

SENTINEL_ADMIN_PASSWORD=bench-admin-password "$bin" serve --database-url "$url" \
  --bind "127.0.0.1:$port" --data-dir "$work" >"$work/serve.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/health" >/dev/null && break; sleep 0.2; done

TOKEN=$(curl -s "http://127.0.0.1:$port/api/auth/login" -H 'content-type: application/json' \
  -d '{"username":"admin","password":"bench-admin-password"}' |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
auth="Authorization: Bearer $TOKEN"

# One request first: what the report says it covered.
curl -sf -H "$auth" "http://127.0.0.1:$port/api/reports/compliance" | python3 -c '
import json, sys
r = json.load(sys.stdin)
p, i = r["period"], r["incidents"]
print("# default period:", p["since"], "..", p["until"], ":", i["events"], "events,",
      i["total"], "violations; previous period", i["previous_events"], "events")'

median() {
  wrk -t1 -c1 -d10s --latency -H "$auth" "http://127.0.0.1:$port$1" |
    awk -v p="$1" '/^ +50%/ {m=$2} /^ +99%/ {q=$2} /Requests\/sec/ {r=$2} END {printf "%-62s median %-9s p99 %-9s %s req/s\n", p, m, q, r}'
}
for path in \
  "/api/reports/compliance" \
  "/api/reports/compliance?framework=eu-ai-act" \
  "/api/reports/compliance?framework=nist-ai-rmf" \
  "/api/reports/compliance.csv" \
  "/api/reports/usage?group_by=app" \
  "/api/reports/usage?group_by=model" \
  "/api/reports/usage?group_by=user" \
  "/api/reports/usage?group_by=day"; do
  median "$path"
done
kill "$pid"
wait "$pid" 2>/dev/null || true

for i in 1 2 3; do
  /usr/bin/time -f "# report export (whole process, with the PDF and bundle), run $i: %e s, %M KB max RSS" \
    "$bin" report export --database-url "$url" --out "$work/bundle$i.zip" >/dev/null
done
