#!/usr/bin/env bash
# The whole test suite, from a clean clone, as root or with sudo rights:
# installs what it needs, builds, lints, starts a private redis-server on a
# free loopback port, runs every test with node's test runner, stops redis.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '[test/run] %s\n' "$*"; }

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# Debian packages the tests use, by the command that proves each is there.
declare -A need=(
  [redis-server]=redis-server   # the store, real (also redis-cli, and cluster mode)
  [redis-sentinel]=redis-sentinel # Sentinel failover under a running netpingd
  [promtool]=prometheus         # checks a real /metrics scrape, rules
  [prometheus]=prometheus       # scrapes netpingd, text and protobuf (native histograms)
  [ip]=iproute2                 # network namespaces for fault tests
  [nft]=nftables                # drops a share of SYNs in the tcp fault test
  [xmllint]=libxml2-utils       # validates the SMF manifest
  [systemd-analyze]=systemd     # verifies the systemd unit
  [setpriv]=util-linux          # runs the daemon with only CAP_NET_RAW
  [ping]=iputils-ping           # reference pinger
  [fping]=fping                 # reference pinger
  [git]=git                     # a fresh clone for the README's first command
  [curl]=curl                   # scripts/setup-and-run.sh shows the table with it
  [sudo]=sudo                   # scripts/setup-and-run.sh as a user with sudo
  [chromium]=chromium           # the browser view, driven by playwright-core
  [iperf3]=iperf3               # reference for throughput tests
  [prometheus-alertmanager]=prometheus-alertmanager # receives netpingd's alerts
  [dnsmasq]=dnsmasq-base        # a real DNS server with TTLs for names that follow DNS
)
missing=()
for cmd in "${!need[@]}"; do
  command -v "$cmd" >/dev/null 2>&1 || missing+=("${need[$cmd]}")
done
if [ "${#missing[@]}" -gt 0 ]; then
  log "installing: ${missing[*]}"
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ "${NETPING_SKIP_NPM_CI:-}" != 1 ]; then
  log "npm ci"
  npm ci --no-audit --no-fund --loglevel=error
fi
# raw-socket is a native addon; under ignore-scripts or a strict allowScripts
# policy npm ci skips its build, so build it explicitly when it is missing.
if [ ! -f node_modules/raw-socket/build/Release/raw.node ]; then
  log "building raw-socket"
  npm rebuild raw-socket --ignore-scripts=false
fi
# Our own addon (native/): npm ci builds no code of the package itself.
if [ ! -f native/build/Release/netping_sockets.node ]; then
  log "building the probe sockets addon"
  bash scripts/build-addon.sh --required
fi

log "build"
npm run --silent build
log "lint"
npm run --silent lint

port=$(node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
redis_dir=$(mktemp -d)
redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no \
  --dir "$redis_dir" --daemonize no --logfile "$redis_dir/redis.log" &
redis_pid=$!
cleanup() { kill "$redis_pid" 2>/dev/null || true; wait "$redis_pid" 2>/dev/null || true; rm -rf "$redis_dir"; }
trap cleanup EXIT
for _ in $(seq 1 100); do
  redis-cli -p "$port" ping >/dev/null 2>&1 && break
  sleep 0.1
done
redis-cli -p "$port" ping >/dev/null
log "redis-server on 127.0.0.1:$port"

export NETPING_TEST_REDIS_URL="redis://127.0.0.1:$port"
mapfile -t files < <(find dist/test -name '*.test.js' | sort)
node --test --test-reporter=spec "${files[@]}"
