#!/usr/bin/env bash
# Builds our probe sockets addon (native/) from source with node-gyp: npm's
# bundled copy (on the PATH of npm scripts), nothing downloaded. Node's
# headers come from npm's nodedir setting, or from beside the node binary
# (Debian's nodejs puts them in /usr/include/node).
#
# A failed build is not fatal: netpingd then runs on raw-socket and says so
# at start. With --required (the test suite) it is.
set -euo pipefail
cd "$(dirname "$0")/.."

required=0
[ "${1:-}" = --required ] && required=1

gyp=(node-gyp)
if ! command -v node-gyp >/dev/null 2>&1; then
  bundled="$(npm root -g)/npm/node_modules/node-gyp/bin/node-gyp.js"
  [ -f "$bundled" ] || bundled="$(dirname "$(readlink -f "$(command -v npm)")")/../node_modules/node-gyp/bin/node-gyp.js"
  gyp=(node "$bundled")
fi
nodedir="${npm_config_nodedir:-$(npm config get nodedir 2>/dev/null || true)}"
if [ -z "$nodedir" ] || [ "$nodedir" = undefined ] || [ "$nodedir" = null ]; then
  prefix=$(node -p 'require("path").resolve(process.execPath, "../..")')
  nodedir=""
  [ -f "$prefix/include/node/node_api.h" ] && nodedir="$prefix"
fi

started=$(date +%s%N)
if "${gyp[@]}" rebuild -C native ${nodedir:+--nodedir="$nodedir"} --loglevel=warn >native/build.log 2>&1; then
  echo "build-addon: native/build/Release/netping_sockets.node in $((($(date +%s%N) - started) / 1000000)) ms"
  exit 0
fi
tail -n 20 native/build.log >&2
echo "build-addon: the addon did not build (it needs g++, make, python3 and Node's headers, include/node beside node, which Debian's nodejs package has: apt-get install g++ make python3); netpingd will use raw-socket instead (see native/build.log)" >&2
exit "$required"
