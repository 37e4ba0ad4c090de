#!/usr/bin/env bash
# Load on the model gateway with wrk from a second process: non-streamed 1 KiB chat completions
# through Sentinel (the ten demo detectors enforced in and out, every call recorded) and, for
# comparison, the same calls straight to the stand-in upstream. 64 connections, 20 s each.
# Usage: [WRK_THREADS=1] [WRK_CONNECTIONS=64] [WRK_SECONDS=20] scripts/bench-gateway.sh
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/sentinel-target}"
cargo build --release --quiet -p sentinel-server --example gateway_bench
out="$(mktemp /var/tmp/sentinel-gateway-bench.XXXX)"
"$CARGO_TARGET_DIR/release/examples/gateway_bench" serve >"$out" 2>&1 &
pid=$!
trap 'kill -INT $pid 2>/dev/null || true; rm -f "$out"' EXIT
for _ in $(seq 1 300); do grep -q READY "$out" && break; sleep 0.2; done
grep -q READY "$out" || { cat "$out"; exit 1; }
eval "$(grep -E '^(DIRECT_URL|GATEWAY_URL|GATEWAY_KEY|BODY_FILE)=' "$out" | sed 's/^/export /')"
threads="${WRK_THREADS:-2}"
conns="${WRK_CONNECTIONS:-64}"
secs="${WRK_SECONDS:-20}"
for target in "direct to the stand-in upstream|$DIRECT_URL" "through Sentinel|$GATEWAY_URL"; do
  echo "# ${target%%|*}: wrk -t$threads -c$conns -d${secs}s --latency -s scripts/gateway/chat.lua"
  wrk -t"$threads" -c"$conns" -d"${secs}s" --latency -s scripts/gateway/chat.lua "${target#*|}" \
    | grep -E "Latency|50%|90%|99%|Requests/sec|Non-2xx|Socket errors"
done
