#!/usr/bin/env bash
# First run on a fresh Debian machine, from a clone of netping: installs the
# build tools it lacks, builds netping, links netpingd and npcli into npm's
# global bin directory, starts netpingd in the background with its embedded
# store (no Redis), adds localhost as a first target and shows the table.
#
# Run it as root, or as a user with sudo: sudo is used only when not root.
# Environment: NETPING_LISTEN (default 9922: PORT, HOST:PORT or [IPV6]:PORT)
# and NETPING_STATE_DIR (default /var/lib/netping) reach netpingd and npcli;
# NPM_CONFIG_PREFIX chooses where npm links the commands.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf 'setup-and-run: %s\n' "$*"; }
fail() {
  say "$*" >&2
  exit 1
}
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

if [ "$(id -u)" != 0 ] && ! command -v sudo >/dev/null 2>&1; then
  fail "run this as root, or install sudo and run it as a user allowed to use it"
fi

node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$node_major" -lt 20 ] || ! command -v npm >/dev/null 2>&1; then
  fail "netping needs Node.js 20 or later with npm (found: $(node --version 2>/dev/null || echo none)); see \"Node.js 20\" in README.md"
fi

# Build tools for the native addons (ours in native/, and raw-socket's), curl for the last step.
missing=()
for tool in g++:g++ make:make python3:python3 curl:curl; do
  command -v "${tool%%:*}" >/dev/null 2>&1 || missing+=("${tool#*:}")
done
if [ "${#missing[@]}" -gt 0 ]; then
  say "installing ${missing[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

say "building netping (npm run setup)"
npm run setup

# npm link puts netpingd and npcli into npm's global bin directory; sudo
# only if that directory is not ours to write.
prefix=$(npm prefix -g)
say "linking netpingd and npcli into $prefix/bin"
if [ -w "$prefix" ] && { [ ! -e "$prefix/bin" ] || [ -w "$prefix/bin" ]; }; then
  npm link --silent --no-audit --no-fund
else
  as_root env NPM_CONFIG_PREFIX="$prefix" npm link --silent --no-audit --no-fund
fi
netpingd=$prefix/bin/netpingd
npcli=$prefix/bin/npcli

listen=${NETPING_LISTEN:-9922}
state_dir=${NETPING_STATE_DIR:-/var/lib/netping}
port=${listen##*:}
host=
case $listen in *:*) host=${listen%:*} ;; esac
case $host in '' | '*' | 0.0.0.0) host=127.0.0.1 ;; '[::]') host='[::1]' ;; esac
url=http://$host:$port
log=$state_dir/netpingd.log

if curl -fsS -o /dev/null --max-time 2 "$url/healthz" 2>/dev/null; then
  say "something already answers at $url (a netpingd started before?): using it;" \
    "set NETPING_LISTEN=PORT to start another on another port"
else
  # As root (raw ICMP sockets), detached from this terminal, logging to the state directory.
  as_root mkdir -p "$state_dir"
  pid=$(as_root sh -c 'log=$1; shift; setsid "$@" </dev/null >>"$log" 2>&1 & echo $!' sh "$log" \
    env NETPING_LISTEN="$listen" NETPING_STATE_DIR="$state_dir" "$netpingd")
  for _ in $(seq 1 50); do
    curl -fsS -o /dev/null --max-time 1 "$url/healthz" 2>/dev/null && break
    as_root kill -0 "$pid" 2>/dev/null || fail "netpingd stopped at once; its log, $log:
$(as_root tail -n 5 "$log")"
    sleep 0.2
  done
  curl -fsS -o /dev/null --max-time 1 "$url/healthz" || fail "netpingd does not answer at $url; see $log"
  say "netpingd runs as pid $pid, listening on $listen, state in $state_dir, log in $log"
  # Which ICMP sockets and clock it uses (raw-socket if the addon did not build).
  icmp_line=$(as_root grep -m1 '^netpingd: icmp: ' "$log" || true)
  [ -z "$icmp_line" ] || say "${icmp_line#netpingd: }"
  say "stop it with: $([ "$(id -u)" = 0 ] || echo 'sudo ')kill $pid"
fi

# npcli as root too: only the daemon's user can read its API token.
as_root env NETPING_URL="$url" NETPING_STATE_DIR="$state_dir" "$npcli" add localhost
sleep 3
curl -fsS "$url/"
case ":$PATH:" in *":$prefix/bin:"*) ;; *) say "note: $prefix/bin is not in your PATH" ;; esac
