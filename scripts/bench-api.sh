#!/usr/bin/env bash
# Seeds a store with N events (default 1,000,000), starts a release server on it and measures the
# median latency of the list and dashboard endpoints with wrk (1 connection, 5 s each), then the
# server's RSS when idle and under load (wrk, 64 connections, from a second process).
# Usage: scripts/bench-api.sh [EVENTS] [DATABASE_URL]
set -euo pipefail
cd "$(dirname "$0")/.."
events="${1:-1000000}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/sentinel-target}"
cargo build --release --quiet -p sentinel-cli
bin="$CARGO_TARGET_DIR/release/sentinel"
work="$(mktemp -d /var/tmp/sentinel-bench.XXXX)"
url="${2:-sqlite://$work/sentinel.db?mode=rwc}"
port=18080

echo "# seed: $events events into ${url%%\?*}"
"$bin" seed --database-url "$url" --events "$events" --seed 7

SENTINEL_ADMIN_PASSWORD=bench-admin-password "$bin" serve --database-url "$url" --bind "127.0.0.1:$port" \
  --data-dir "$work" >"$work/serve.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 1 50); do curl -sf "http://127.0.0.1:$port/health" >/dev/null && break; sleep 0.2; done

# Every API route needs a token: sign in as the bootstrap admin.
TOKEN=$(curl -s "http://127.0.0.1:$port/api/auth/login" -H 'content-type: application/json' \
  -d '{"username":"admin","password":"bench-admin-password"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
auth="Authorization: Bearer $TOKEN"

rss() { awk '/VmRSS/ {print $2" "$3}' "/proc/$pid/status"; }
echo "# idle RSS: $(rss)"

median() {
  # wrk --latency prints the latency distribution; the 50% line is the median.
  wrk -t1 -c1 -d5s --latency -H "$auth" "http://127.0.0.1:$port$1" | awk -v p="$1" '/^ +50%/ {printf "%-55s median %s\n", p, $2} /Requests\/sec/ {print "    " $0}'
}
# Time windows relative to now (the seed spreads its traffic over the last 30 days).
since="$(date -u -d '-1 day' +%Y-%m-%dT%H:%M:%SZ)"
until="$(date -u -d '-7 days' +%Y-%m-%dT%H:%M:%SZ)"
# The first page of every list, unfiltered, with each filter the API offers on its own, and with
# the pairs dashboards use.
for path in \
  "/api/events/?limit=100" \
  "/api/events/?limit=100&skip=5000" \
  "/api/events/?limit=100&status=open" \
  "/api/events/?limit=100&severity=high" \
  "/api/events/?limit=100&event_type=policy_violation" \
  "/api/events/?limit=100&policy_id=3" \
  "/api/events/?limit=100&source=ChatBot" \
  "/api/events/?limit=100&since=$since" \
  "/api/events/?limit=100&until=$until" \
  "/api/events/?limit=100&status=open&severity=high" \
  "/api/events/?limit=100&status=open&source=ChatBot" \
  "/api/violations/?limit=100" \
  "/api/violations/?limit=100&status=detected" \
  "/api/violations/?limit=100&severity=critical" \
  "/api/violations/?limit=100&policy_id=3" \
  "/api/violations/?limit=100&event_id=999995" \
  "/api/violations/?limit=100&violation_type=data_leak" \
  "/api/policies/" \
  "/api/dashboard/stats" \
  "/api/dashboard/events/timeline?days=7" \
  "/api/dashboard/events/timeline?days=30" \
  "/api/dashboard/recent-activity?limit=10" \
  "/api/dashboard/performance-metrics" \
  "/api/dashboard/violations/by-category" \
  "/api/dashboard/policies/by-status" \
  "/api/events/stats/summary" \
  "/api/violations/stats/summary"; do
  median "$path"
done

echo "# load: wrk -t2 -c64 -d10s /api/events/?limit=100"
wrk -t2 -c64 -d10s --latency -H "$auth" "http://127.0.0.1:$port/api/events/?limit=100" >"$work/load.txt" &
wrkpid=$!
sleep 5
echo "# RSS under load: $(rss)"
wait $wrkpid
grep -E "Requests/sec|50%|99%" "$work/load.txt"
