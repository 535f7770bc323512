#!/usr/bin/env bash
# Builds netping, installs the reference tools if missing, and runs the load
# benchmark. Needs root (raw sockets). Arguments go to dist/bench/icmp-load.js:
#   bench/run.sh --targets 10000 --seconds 30 --warmup 10
# NETPING_BENCH_NODE_ARGS passes extra node arguments to netpingd, e.g.
#   NETPING_BENCH_NODE_ARGS='--cpu-prof --cpu-prof-dir=/tmp/netping-prof' bench/run.sh
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" -ne 0 ]; then
  echo "bench/run.sh: netpingd, fping and smokeping_prober need raw sockets; run as root" >&2
  exit 2
fi

missing=()
command -v redis-server >/dev/null || missing+=(redis-server)
command -v fping >/dev/null || missing+=(fping)
command -v prometheus-smokeping-prober >/dev/null || missing+=(prometheus-smokeping-prober)
if [ "${#missing[@]}" -gt 0 ]; then
  echo "bench/run.sh: installing ${missing[*]}" >&2
  timeout 600 apt-get install -y "${missing[@]}" >&2 ||
    echo "bench/run.sh: apt-get failed; tools still missing are skipped" >&2
fi

timeout 300 npx tsc -p .
# The script has its own watchdog; this one catches a wedged node.
exec timeout --kill-after=30 7200 node dist/bench/icmp-load.js "$@"
