#!/usr/bin/env bash
# Profile one Switchboard process with clinic under wrk load; the HTML lands in .clinic/.
#
#   perf/profile.sh <doctor|flame|bubbleprof> [acceptor|broker|handler|uws-hello|node-http-hello] [seconds]
#
#   npm run profile -- broker 20          (doctor, the broker, 20 s of load)
#   npm run profile:flame -- acceptor
#
# Env: PORT     HTTP port the load goes to (default 6767, the acceptor default; match it to the
#               config; uws-hello/node-http-hello are given it as env PORT)
#      URL      full load URL, overrides PORT (default http://127.0.0.1:$PORT/)
#      CONNS    wrk connections (default 50)
#      SWITCHBOARD_CONFIG  JSON config file, passed to every Switchboard process unchanged
#      PROFILE_HANDLER=m2  use perf/handlers/m2-hello.ts (demo service 9997/9996) as the handler
#
# Three clinic workarounds on this machine (../shared/ECOSYSTEM.md §6):
#  1. NO_INSIGHT=1, or clinic exits 0 silently without a TTY;
#  2. clinic cannot see uWS.js's port (it hooks Node's net module), so --autocannon/--on-port
#     never fire: the target runs under clinic in its own process group (setsid), wrk drives
#     load separately, then `kill -INT -- -<pgid>` stops it as Ctrl-C would;
#  3. doctor needs the piscina pool to give worker threads their own sampler paths (that is
#     the handler host's business: workers/handler/).
# clinic comes from npx (not a dependency: it pulls ~600 packages).
set -euo pipefail

TOOL=${1:-doctor}
TARGET=${2:-acceptor}
SECS=${3:-10}
PORT=${PORT:-6767}
URL=${URL:-http://127.0.0.1:${PORT}/}
CONNS=${CONNS:-50}
CLINIC=(npx -y clinic@13.0.0)

case "$TOOL" in doctor|flame|bubbleprof) ;; *) echo "profile.sh: tool must be doctor, flame or bubbleprof, got '$TOOL'" >&2; exit 2;; esac
case "$SECS" in ''|*[!0-9]*) echo "profile.sh: seconds must be a positive integer, got '$SECS'" >&2; exit 2;; esac

cd "$(dirname "$0")/.."
mkdir -p perf/out/logs .clinic

if ! command -v wrk >/dev/null; then
  apt-get install -y -q wrk || { apt-get update -q && apt-get install -y -q wrk; }
fi

HANDLER_FILE=workers/handler/main.ts
[ "${PROFILE_HANDLER:-}" = m2 ] && HANDLER_FILE=perf/handlers/m2-hello.ts
file_for () {
  case "$1" in
    acceptor) echo workers/acceptor/main.ts;;
    broker) echo broker/main.ts;;
    handler) echo "$HANDLER_FILE";;
    uws-hello) echo perf/servers/uws-hello.ts;;
    node-http-hello) echo perf/servers/node-http-hello.ts;;
    *) echo "profile.sh: target must be acceptor, broker, handler, uws-hello or node-http-hello, got '$1'" >&2; exit 2;;
  esac
}
TARGET_FILE=$(file_for "$TARGET")
[ -f "$TARGET_FILE" ] || { echo "profile.sh: $TARGET_FILE does not exist yet" >&2; exit 2; }

# The processes that run beside the target, unprofiled: the rest of the Switchboard stack.
case "$TARGET" in
  acceptor) PEERS=(broker handler);;
  broker) PEERS=(acceptor handler);;
  handler) PEERS=(broker acceptor);;
  *) PEERS=();;
esac

PGIDS=()
cleanup () {
  for g in "${PGIDS[@]}"; do kill -INT -- "-$g" 2>/dev/null || true; done
  sleep 1
  for g in "${PGIDS[@]}"; do kill -KILL -- "-$g" 2>/dev/null || true; done
}
trap cleanup EXIT

# Each process gets its own session and process group (setsid: in a non-interactive shell a
# background child is not a group leader, so setsid does not fork and $! is the pgid).
start_group () { # name, command...
  local name=$1; shift
  setsid "$@" >>"perf/out/logs/profile-$name.log" 2>&1 &
  PGIDS+=("$!")
  echo "profile.sh: started $name (pgid $!): $*" >&2
}

group_alive () { kill -0 -- "-$1" 2>/dev/null; }

wait_ready () { # url, timeout seconds, pgid of the target
  local deadline=$((SECONDS + $2))
  until node -e '
    const r = require("node:http").get(process.argv[1], { agent: false, timeout: 1000 }, (res) => {
      let body = ""; res.on("data", (c) => { body += c }); res.on("end", () => process.exit(res.statusCode === 200 && body.length > 0 ? 0 : 1))
    }); r.on("error", () => process.exit(1)); r.on("timeout", () => r.destroy())' "$1"; do
    group_alive "$3" || { echo "profile.sh: target exited before answering; see perf/out/logs/profile-$TARGET.log" >&2; exit 1; }
    [ $SECONDS -lt $deadline ] || { echo "profile.sh: $1 did not answer within $2 s" >&2; exit 1; }
    sleep 0.5
  done
}

# Fetch clinic before anything starts, so the download does not count against readiness.
NO_INSIGHT=1 "${CLINIC[@]}" --version >/dev/null

export NO_INSIGHT=1
MARK=$(mktemp)
# As the Procfile: the broker re-execs itself when the libuv pool is too small for its
# proxies, and clinic would then profile the wrong process.
env_for () { # name → env assignments for that process
  local vars=()
  [ "$1" = broker ] && vars+=("UV_THREADPOOL_SIZE=${UV_THREADPOOL_SIZE:-16}")
  [ "$1" = "$TARGET" ] && vars+=("PORT=$PORT")
  echo "${vars[@]}"
}
for p in "${PEERS[@]}"; do
  # shellcheck disable=SC2046  # env_for prints NAME=value words without spaces
  start_group "$p" env $(env_for "$p") node --import tsx "$(file_for "$p")"
done
# shellcheck disable=SC2046
start_group "$TARGET" env $(env_for "$TARGET") "${CLINIC[@]}" "$TOOL" --open=false -- node --import tsx "$TARGET_FILE"
TARGET_PGID=${PGIDS[-1]}

wait_ready "$URL" 60 "$TARGET_PGID"
echo "profile.sh: $TOOL on $TARGET: wrk -t2 -c$CONNS -d${SECS}s $URL" >&2
wrk -t2 -c"$CONNS" -d"${SECS}s" --latency "$URL"

# Ctrl-C for the target's group; clinic then analyses and writes the HTML (can take a minute).
kill -INT -- "-$TARGET_PGID"
# The profiled node process itself (not npx or clinic): the one whose command line runs the file.
target_pid () {
  ps -o pid=,args= -g "$TARGET_PGID" | awk -v f="--import tsx $TARGET_FILE" \
    'index($0, f) && $2 ~ /(^|\/)node$/ && $0 !~ /bin\/clinic/ { print $1; exit }'
}
for _ in $(seq 1 "$((${EXIT_GRACE:-30} * 2))"); do [ -n "$(target_pid)" ] || break; sleep 0.5; done
PID=$(target_pid)
if [ -n "$PID" ]; then
  # clinic's preloads turn SIGINT into process.exit(); a process that hangs there (a native
  # thread still running) would keep clinic waiting forever. flame still gets its profile.
  echo "profile.sh: $TARGET (pid $PID) did not exit ${EXIT_GRACE:-30} s after SIGINT; SIGKILL (doctor/bubbleprof data may be incomplete)" >&2
  kill -KILL "$PID" 2>/dev/null || true
fi
for _ in $(seq 1 600); do group_alive "$TARGET_PGID" || break; sleep 0.5; done
group_alive "$TARGET_PGID" && echo "profile.sh: clinic still running after 300 s; killing it" >&2

HTML=$(find .clinic -maxdepth 1 -name '*.html' -newer "$MARK" | head -1)
rm -f "$MARK"
if [ -z "$HTML" ]; then
  echo "profile.sh: no HTML in .clinic/; see perf/out/logs/profile-$TARGET.log" >&2
  exit 1
fi
echo "profile.sh: report $HTML"
