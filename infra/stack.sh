#!/usr/bin/env bash
# stack.sh — the local AWS stack for wagewatch.
#
#   infra/stack.sh install        npm ci (only when node_modules is missing or
#                                 package-lock.json changed) + build s3local
#   infra/stack.sh start          start every service (already running: kept)
#   infra/stack.sh stop [NAME]    stop every service, or one (dynamodb|sqs|s3)
#   infra/stack.sh status         say what runs, where
#   infra/stack.sh env            print the environment that points the AWS
#                                 SDK at the local stack (eval "$(... env)")
#
# Services (stopping forgets everything):
#   dynamodb  dynalite 4.0.0          127.0.0.1:$WW_DDB_PORT (default 18000),
#             in memory, or on disk under .local/data with WW_DDB_STORAGE=disk
#   sqs       fauxqs 1.9.2 (SQS, SNS) 127.0.0.1:$WW_SQS_PORT (default 18001)
#   s3        infra/s3local (gofakes3) 127.0.0.1:$WW_S3_PORT (default 18002)
# Pids and logs: .local/run/NAME.pid, .local/log/NAME.log.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
INFRA="$ROOT/infra"
LOCAL="$ROOT/.local"
RUN="$LOCAL/run"
LOG="$LOCAL/log"
BIN="$LOCAL/bin"
WW_DDB_PORT="${WW_DDB_PORT:-18000}"
WW_SQS_PORT="${WW_SQS_PORT:-18001}"
WW_S3_PORT="${WW_S3_PORT:-18002}"
SERVICES=(dynamodb sqs s3)

# .local/ ignores itself, so that nothing in it is ever committed.
mkdir -p "$LOCAL" && [[ -f "$LOCAL/.gitignore" ]] || printf '*\n' >"$LOCAL/.gitignore"

say() { printf 'stack: %s\n' "$*"; }
die() { printf 'stack: %s\n' "$*" >&2; exit 1; }

port_of() {
  case "$1" in
    dynamodb) echo "$WW_DDB_PORT" ;;
    sqs) echo "$WW_SQS_PORT" ;;
    s3) echo "$WW_S3_PORT" ;;
    *) die "unknown service $1 (want one of: ${SERVICES[*]})" ;;
  esac
}

health_url() {
  case "$1" in
    dynamodb) echo "http://127.0.0.1:$(port_of dynamodb)/" ;;
    sqs) echo "http://127.0.0.1:$(port_of sqs)/health" ;;
    s3) echo "http://127.0.0.1:$(port_of s3)/_health" ;;
  esac
}

# healthy NAME: the service answers over HTTP. dynalite answers any GET
# (with an error document), which is enough to know it listens.
healthy() {
  local code
  code="$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$(health_url "$1")" || true)"
  case "$1" in
    dynamodb) [[ "$code" != "000" ]] ;;
    *) [[ "$code" == "200" ]] ;;
  esac
}

running() {
  local pidfile="$RUN/$1.pid" pid
  [[ -f "$pidfile" ]] || return 1
  pid="$(cat "$pidfile")"
  [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null
}

lock_sum() { sha256sum "$INFRA/package-lock.json" | cut -d' ' -f1; }

install() {
  command -v node >/dev/null || die "node is not installed (Node 20 + npm needed)"
  command -v npm >/dev/null || die "npm is not installed"
  command -v go >/dev/null || die "go is not installed"
  local stamp="$INFRA/node_modules/.wagewatch-lock.sha256"
  if [[ -d "$INFRA/node_modules" && -f "$stamp" && "$(cat "$stamp")" == "$(lock_sum)" ]]; then
    say "node packages up to date"
  else
    say "npm ci in infra/"
    (cd "$INFRA" && npm ci --no-audit --no-fund --loglevel=error)
    lock_sum >"$stamp"
  fi
  mkdir -p "$BIN"
  # go build is itself incremental: cheap when nothing changed.
  (cd "$ROOT" && go build -o "$BIN/s3local" ./infra/s3local)
  say "s3local built: .local/bin/s3local"
}

start_one() {
  local name="$1" port
  port="$(port_of "$name")"
  if [[ "$name" == dynamodb && -n "${WW_DDB_STORAGE:-}" ]] && running dynamodb &&
    [[ "$(cat "$RUN/dynamodb.storage" 2>/dev/null || echo memory)" != "$WW_DDB_STORAGE" ]]; then
    say "dynamodb runs on $(cat "$RUN/dynamodb.storage" 2>/dev/null || echo memory) storage; restarting it on $WW_DDB_STORAGE storage (its tables are lost)"
    stop_one dynamodb
  fi
  if running "$name"; then
    if healthy "$name"; then
      say "$name already running (pid $(cat "$RUN/$name.pid"), port $port)"
      return 0
    fi
  elif healthy "$name"; then
    die "$name: port $port already answers, but not a process this script started; stop it or set another port"
  fi
  mkdir -p "$RUN" "$LOG"
  local logfile="$LOG/$name.log"
  : >"$logfile"
  case "$name" in
    dynamodb)
      [[ -f "$INFRA/node_modules/dynalite/cli.js" ]] || die "dynalite is not installed: run infra/stack.sh install"
      # WW_DDB_STORAGE=memory (the default: dynalite's in-memory tree, the
      # fastest for tests and the demo) or disk (LevelDB through
      # classic-level, native and off the node heap). In memory every item
      # lives in the node heap and each write gets slower as the tables
      # grow: a 10× city's writes cost 1.8× a 1× city's (garbage collection,
      # memory latency). On disk they cost about the same at any size, so
      # the city benchmark runs there. Either way a start begins empty. A
      # young generation of 64 MB lets the per-request garbage die young.
      local storage="${WW_DDB_STORAGE:-memory}" data="$LOCAL/data/dynamodb-$port"
      # Half the machine's memory as heap, not node's default 4 GB: in
      # memory a 10× city's tables need about 4 GB, and deleting a table
      # gathers all its keys in the heap first (on disk too: deleting a 10×
      # attendance table, 7 million items, ran dynalite out of its 4 GB).
      local args=(--port "$port" --host 127.0.0.1) flags=(--max-semi-space-size=64) mem_mb
      mem_mb=$(awk '/^MemTotal:/ {print int($2/1024)}' /proc/meminfo 2>/dev/null || echo 8192)
      flags+=(--max-old-space-size=$((mem_mb / 2 > 4096 ? mem_mb / 2 : 4096)))
      case "$storage" in
        memory) ;;
        disk)
          rm -rf "$data" && mkdir -p "$data" && args+=(--path "$data")
          # LevelDB tuned by infra/dynalite.cjs; it may keep this many
          # table files open.
          export WW_DDB_OPEN_FILES=$(( $(ulimit -n) > 2000 ? 5000 < $(ulimit -n) - 1000 ? 5000 : $(ulimit -n) - 1000 : 500 ))
          ;;
        *) die "WW_DDB_STORAGE=$storage: want memory or disk" ;;
      esac
      echo "$storage" >"$RUN/dynamodb.storage"
      setsid node "${flags[@]}" "$INFRA/dynalite.cjs" "${args[@]}" \
        >>"$logfile" 2>&1 </dev/null 9>&- &
      ;;
    sqs)
      [[ -f "$INFRA/node_modules/fauxqs/dist/app.js" ]] || die "fauxqs is not installed: run infra/stack.sh install"
      # infra/fauxqs.mjs = fauxqs's cli.js without the per-request log.
      FAUXQS_PORT="$port" FAUXQS_LOGGER=false setsid node "$INFRA/fauxqs.mjs" >>"$logfile" 2>&1 </dev/null 9>&- &
      ;;
    s3)
      [[ -x "$BIN/s3local" ]] || die "s3local is not built: run infra/stack.sh install"
      setsid "$BIN/s3local" -addr "127.0.0.1:$port" >>"$logfile" 2>&1 </dev/null 9>&- &
      ;;
  esac
  local pid=$!
  echo "$pid" >"$RUN/$name.pid"
  for _ in $(seq 1 150); do
    if healthy "$name"; then
      say "$name started (pid $pid, port $port, log .local/log/$name.log)"
      return 0
    fi
    if ! kill -0 "$pid" 2>/dev/null; then
      rm -f "$RUN/$name.pid"
      printf 'stack: %s exited while starting; last lines of .local/log/%s.log:\n' "$name" "$name" >&2
      tail -n 20 "$logfile" >&2 || true
      exit 1
    fi
    sleep 0.2
  done
  printf 'stack: %s did not answer on port %s within 30 s; last lines of .local/log/%s.log:\n' "$name" "$port" "$name" >&2
  tail -n 20 "$logfile" >&2 || true
  stop_one "$name" >/dev/null
  exit 1
}

stop_one() {
  local name="$1" pidfile="$RUN/$1.pid" pid
  port_of "$name" >/dev/null
  if ! running "$name"; then
    rm -f "$pidfile"
    say "$name not running"
    return 0
  fi
  pid="$(cat "$pidfile")"
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 1 50); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$pidfile"
  [[ "$name" != dynamodb ]] || rm -rf "$LOCAL/data/dynamodb-$(port_of dynamodb)" "$RUN/dynamodb.storage"
  say "$name stopped (pid $pid)"
}

status() {
  local name rc=0
  for name in "${SERVICES[@]}"; do
    if running "$name" && healthy "$name"; then
      say "$name running (pid $(cat "$RUN/$name.pid"), port $(port_of "$name"))"
    elif running "$name"; then
      say "$name started but not answering (pid $(cat "$RUN/$name.pid"), port $(port_of "$name"))"
      rc=1
    else
      say "$name stopped"
      rc=1
    fi
  done
  return "$rc"
}

print_env() {
  cat <<EOF
export AWS_ACCESS_KEY_ID=local
export AWS_SECRET_ACCESS_KEY=local
export AWS_REGION=\${AWS_REGION:-us-east-1}
export AWS_ENDPOINT_URL_DYNAMODB=http://127.0.0.1:$WW_DDB_PORT
export AWS_ENDPOINT_URL_SQS=http://127.0.0.1:$WW_SQS_PORT
export AWS_ENDPOINT_URL_SNS=http://127.0.0.1:$WW_SQS_PORT
export AWS_ENDPOINT_URL_S3=http://127.0.0.1:$WW_S3_PORT
export WW_S3_PATH_STYLE=true
EOF
}

cmd="${1:-}"
shift || true
# install and start are serialized across processes (parallel go test
# packages may each ask for the stack).
if [[ "$cmd" == install || "$cmd" == start ]]; then
  # (The services are started with fd 9 closed, so that they never hold it.)
  exec 9>"$LOCAL/stack-lock"
  flock -w 300 9 || die "another infra/stack.sh $cmd has held .local/stack-lock for 5 minutes"
fi
case "$cmd" in
  install) install ;;
  start)
    if [[ $# -gt 0 ]]; then
      for s in "$@"; do start_one "$s"; done
    else
      for s in "${SERVICES[@]}"; do start_one "$s"; done
    fi
    ;;
  stop)
    if [[ $# -gt 0 ]]; then
      for s in "$@"; do stop_one "$s"; done
    else
      for s in "${SERVICES[@]}"; do stop_one "$s"; done
    fi
    ;;
  status) status ;;
  env) print_env ;;
  *)
    echo "usage: infra/stack.sh {install|start [NAME...]|stop [NAME...]|status|env}" >&2
    exit 2
    ;;
esac
