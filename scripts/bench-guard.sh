#!/usr/bin/env bash
# Throughput and latency of POST /api/guard (no recording) against the ten demo policies, all
# enforced, with wrk from a second process: 64 connections, 2 threads (WRK_THREADS), 20 s.
# Usage: [WRK_THREADS=1] scripts/bench-guard.sh
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/sentinel-target}"
cargo build --release --quiet -p sentinel-cli
bin="$CARGO_TARGET_DIR/release/sentinel"
work="$(mktemp -d /var/tmp/sentinel-guard.XXXX)"
port=18081
"$bin" serve --demo --database-url "sqlite://$work/sentinel.db?mode=rwc" --bind "127.0.0.1:$port" >"$work/serve.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/health" >/dev/null && break; sleep 0.2; done
# Sign in as the demo admin; the guard is called with an `ingest` API key, as an AI application would.
TOKEN=$(curl -s "http://127.0.0.1:$port/api/auth/login" -H 'content-type: application/json' \
  -d '{"username":"admin","password":"2501"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
auth="Authorization: Bearer $TOKEN"
export GUARD_KEY=$(curl -s "http://127.0.0.1:$port/api/keys/" -H "$auth" -H 'content-type: application/json' \
  -d '{"name":"bench","scopes":["ingest"]}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["key"])')
# wrk's threads share the server's two cores: WRK_THREADS=1 leaves the server more of them.
threads="${WRK_THREADS:-2}"
run() {
  echo "# $1"
  echo "# wrk -t$threads -c64 -d20s --latency -s scripts/guard.lua (POST /api/guard, record=false)"
  wrk -t"$threads" -c64 -d20s --latency -s scripts/guard.lua "http://127.0.0.1:$port/api/guard" | grep -E "Latency|50%|90%|99%|Requests/sec|Non-2xx"
}
# Scenario 1: the ten demo policies as shipped, all enforced; a completion (the demo policies read
# response.completion) from SecureBot, so the data_leakage policy evaluates the text and the nine
# others are skipped by their scope clause.
for id in $(seq 1 10); do
  curl -s -o /dev/null -H "$auth" -X PUT "http://127.0.0.1:$port/api/policies/$id" -H 'content-type: application/json' -d '{"status": "open"}'
done
GUARD_SOURCE=SecureBot GUARD_STAGE=output run "ten demo policies, scoped (one in scope), stage output"
# Scenario 2: the same ten bundles without their scope, so every detector runs on every request.
for id in $(seq 1 10); do
  def=$(curl -s -H "$auth" "http://127.0.0.1:$port/api/policies/$id" | python3 -c 'import json,sys; d=json.load(sys.stdin)["definition"]; print(d.split(" and scope.")[0].replace("response.completion","any.text"))')
  curl -s -o /dev/null -H "$auth" -X PUT "http://127.0.0.1:$port/api/policies/$id" -H 'content-type: application/json' \
    -d "{\"status\": \"open\", \"definition\": \"$def\"}"
done
run "ten bundles, every detector runs"
echo "# RSS after load: $(awk '/VmRSS/ {print $2" "$3}' /proc/$pid/status)"
