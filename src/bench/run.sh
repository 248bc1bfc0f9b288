#!/usr/bin/env bash
# Gateway overhead benchmark: the same wrk load straight at a fake llama.cpp server and through the gateway.
#
#   bash src/bench/run.sh
#
# Needs: Java 17, Maven, python3, PostgreSQL on 127.0.0.1:5432 (user postgres, trust auth) with psql, Redis on
# 127.0.0.1:6379; installs wrk with apt-get when missing. Uses its own database (gptapi_bench, dropped and
# re-created at start) and Redis db 8 (flushed at start); touches nothing else. Every process it starts is
# stopped on exit. It is a measurement: it exits 0 whether or not the targets are met (non-zero only when
# the setup itself fails).
#
# Environment overrides:
#   BENCH_SECONDS          measured seconds per run (default 10)
#   BENCH_WARMUP_SECONDS   discarded warm-up before each measured run (default 3)
#   BENCH_COLD_SECONDS     the first seconds of load after the gateway starts, measured in three equal runs
#                          before any warm-up: what a freshly started (autoscaled) replica serves (default 30)
#   BENCH_JIT_WARMUP_SECONDS  one-time discarded warm-up of the gateway per mode, so the JIT compilers are done
#                          before measuring (default 40; the direct target gets at most 10)
#   BENCH_METERING_OFF     1 (default): also measure, at BENCH_CONNS, non-stream and stream, a second gateway started
#                          with METERING=off (keys checked, requests proxied, nothing limited, charged or
#                          recorded) against the same direct runs: the proxy's own ceiling. 0 skips it
#   BENCH_OFF_JIT_WARMUP_SECONDS  that gateway's discarded JIT warm-up, per mode (default 30)
#   BENCH_STREAMS          streams opened at once in the burst run (default 9500; 0 skips it). Each open stream
#                          holds two sockets in the gateway (client and upstream) and the per-process limit here
#                          is 20,000 open files, so 9,500 is about the most one gateway process can hold here
#   BENCH_STREAM_TOKENS / BENCH_STREAM_DELAY_MS   tokens per burst stream and the slow fake's delay per token
#                          (default 20 and 1000: 20-second streams)
#   BENCH_TOKENS           completion tokens per request (default 16)
#   BENCH_CONNS            the "many connections" level (default 64)
#   BENCH_ORGS             organizations the gateway load is spread over (default 1), each with its own key, credit
#                          and limits; wrk takes the keys in turn, request by request. Group commit batches only
#                          one organization's requests (their keys share one Redis slot), so this shows what many
#                          tenants cost against one. Each organization takes four CLI runs to set up (~1 s each)
#   BENCH_BUILD            auto (default: build when sources are newer than target/), always, never
#   BENCH_DB               database name (default gptapi_bench)
#   BENCH_REDIS_DB         Redis database number (default 8)
#   BENCH_EVENT_LOOPS      gateway EVENT_LOOPS (default 2)
#   BENCH_FAKE_INSTANCES   fake llama-server event loops (default 2)
#   BENCH_GATEWAY_JAVA_OPTS / BENCH_FAKE_JAVA_OPTS   extra JVM options
#   BENCH_GATEWAY_JAVA     the java launcher of the gateways (default: java on PATH), e.g. another JDK's bin/java
#   BENCH_AOT_CACHE        a JDK 25+ AOT cache file (JEP 483/515; BENCH_GATEWAY_JAVA must be such a JDK): when it
#                          does not exist, this run is the training run and the gateway writes it as it exits
#                          (-XX:AOTCacheOutput); when it does, the gateway starts from it (-XX:AOTCache). The gateway
#                          then runs the jar copied beside it (a cache only serves the jar it was trained with)
#   BENCH_MODES            scenarios measured after the warm-up (default "whole stream"; "whole" skips the stream
#                          ones, for a quicker look at the cold start)
#   BENCH_QUIET_MAX_PCT    before each run, wait until other processes use at most this % of one core (15)
#   BENCH_QUIET_TIMEOUT    ... but no longer than this many seconds (120; 0 = do not wait)
#   BENCH_RETRIES          re-measure a run up to this many times when other processes used more than
#   BENCH_RETRY_FOREIGN_PCT   this % of one core during it (2, 25), or when wrk's latencies add up to more than
#                          twice the time its connections had (report.py latencies_add_up)
#   BENCH_SCRIPT_COSTS     1 (default): during each gateway run's discarded warm-up, sample Redis's SLOWLOG for
#                          the time each script and command takes per request (src/bench/script_costs.py); 0: not
#   BENCH_ALLOTMENTS       gateway METERING_ALLOTMENTS (default on, as shipped; off: one admission call per request)
#   BENCH_ACCESS_LOG_LEVEL gateway ACCESS_LOG_LEVEL (default INFO, as shipped: every request is a line in
#                          gateway.log; WARN turns the access log off)
#   BENCH_OUT              directory for logs and results (default: a new /tmp/gptapi-bench.XXXXXX)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BENCH_DIR="$ROOT/src/bench"
cd "$ROOT"

SECONDS_RUN=${BENCH_SECONDS:-10}
WARMUP=${BENCH_WARMUP_SECONDS:-3}
JIT_WARMUP=${BENCH_JIT_WARMUP_SECONDS:-40}
COLD=${BENCH_COLD_SECONDS:-30}
METERING_OFF=${BENCH_METERING_OFF:-1}
SCRIPT_COSTS=${BENCH_SCRIPT_COSTS:-1}
OFF_JIT_WARMUP=${BENCH_OFF_JIT_WARMUP_SECONDS:-30}
STREAMS=${BENCH_STREAMS:-9500}
STREAM_TOKENS=${BENCH_STREAM_TOKENS:-20}
STREAM_DELAY_MS=${BENCH_STREAM_DELAY_MS:-1000}
TOKENS=${BENCH_TOKENS:-16}
CONNS=${BENCH_CONNS:-64}
ORGS=${BENCH_ORGS:-1}
[[ $ORGS =~ ^[1-9][0-9]{0,3}$ ]] || { echo "BENCH_ORGS must be 1..9999" >&2; exit 2; }
MODES=${BENCH_MODES:-whole stream}
GW_JAVA=${BENCH_GATEWAY_JAVA:-java}
AOT_CACHE=${BENCH_AOT_CACHE:-}
BUILD=${BENCH_BUILD:-auto}
DB=${BENCH_DB:-gptapi_bench}
REDIS_DB=${BENCH_REDIS_DB:-8}
EVENT_LOOPS=${BENCH_EVENT_LOOPS:-2}
FAKE_INSTANCES=${BENCH_FAKE_INSTANCES:-2}
SLOTS=256
MODEL=gpt-fast

log() { printf '[bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

OUT=${BENCH_OUT:-$(mktemp -d /tmp/gptapi-bench.XXXXXX)}
mkdir -p "$OUT"
log "logs and results: $OUT"

# ------------------------------------------------------------------ cleanup
PIDS=()
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  local pid
  for pid in "${PIDS[@]}"; do
    if kill -0 "$pid" 2>/dev/null; then
      kill "$pid" 2>/dev/null || true
    fi
  done
  for pid in "${PIDS[@]}"; do
    # Up to 60 s: a gateway started with -XX:ArchiveClassesAtExit or -XX:AOTCacheOutput writes it as it exits.
    for _ in $(seq 600); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then kill -9 "$pid" 2>/dev/null || true; fi
  done
  rm -rf "$OUT/app"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ------------------------------------------------------------------ tools
command -v java >/dev/null || die "java not found"
command -v mvn >/dev/null || die "mvn not found"
command -v python3 >/dev/null || die "python3 not found"
command -v psql >/dev/null || die "psql not found"
command -v curl >/dev/null || die "curl not found"
if ! command -v wrk >/dev/null; then
  log "installing wrk"
  SUDO=""; [[ $(id -u) -eq 0 ]] || SUDO="sudo"
  $SUDO apt-get install -y wrk >"$OUT/apt.log" 2>&1 \
    || { $SUDO apt-get update >>"$OUT/apt.log" 2>&1 && $SUDO apt-get install -y wrk >>"$OUT/apt.log" 2>&1; } \
    || die "could not install wrk (see $OUT/apt.log)"
fi

# ------------------------------------------------------------------ build
JAR=target/gpt-api.jar
FAKE_CLASS=target/test-classes/ai/gpt/api/testing/FakeLlamaServer.class
need_build() {
  case "$BUILD" in
    always) return 0 ;;
    never) return 1 ;;
  esac
  [[ -f $JAR && -f $FAKE_CLASS ]] || return 0
  local src
  for src in src/main src/test pom.xml sql lua; do
    [[ -e $src ]] || continue
    if [[ -n $(find "$src" -newer "$JAR" -print -quit) ]]; then return 0; fi
  done
  return 1
}
if need_build; then
  log "building (mvn package, test-compile)"
  if ! { mvn -B -q -DskipTests package >"$OUT/build.log" 2>&1 \
         && mvn -B -q -DskipTests test-compile >>"$OUT/build.log" 2>&1; }; then
    if [[ -f $JAR && -f $FAKE_CLASS ]]; then
      log "WARNING: build failed (see $OUT/build.log); using the existing target/ artifacts"
    else
      tail -30 "$OUT/build.log" >&2
      die "build failed"
    fi
  fi
else
  log "reusing target/ (up to date; BENCH_BUILD=always to force a build)"
fi
[[ -f $JAR && -f $FAKE_CLASS ]] || die "missing $JAR or $FAKE_CLASS"

CP_FILE=target/bench-test-classpath.txt
if [[ ! -s $CP_FILE || pom.xml -nt $CP_FILE ]]; then
  log "resolving the test class path"
  mvn -B -q dependency:build-classpath -Dmdep.outputFile="$ROOT/$CP_FILE" -Dmdep.includeScope=test \
    >"$OUT/classpath.log" 2>&1 || { tail -30 "$OUT/classpath.log" >&2; die "dependency:build-classpath failed"; }
fi

# Private copies, so a concurrent `mvn clean` or recompile cannot pull classes out from under the running JVMs. The
# jar keeps its time stamp: a class-data archive (BENCH_GATEWAY_JAVA_OPTS) is only used for the same path, size and
# modification time it was made from, so reuse BENCH_OUT to measure one.
mkdir -p "$OUT/app"
cp -p "$JAR" "$OUT/app/gpt-api.jar"
cp -r target/classes "$OUT/app/classes"
cp -r target/test-classes "$OUT/app/test-classes"
FAKE_CP="$OUT/app/test-classes:$OUT/app/classes:$(cat "$CP_FILE")"
GW_JAR="$OUT/app/gpt-api.jar"
GW_AOT=()
if [[ -n $AOT_CACHE ]]; then
  GW_JAR="${AOT_CACHE%.aot}.jar"
  if ! cmp -s "$JAR" "$GW_JAR"; then
    cp -p "$JAR" "$GW_JAR"
    rm -f "$AOT_CACHE"  # trained on another build
  fi
  if [[ -f $AOT_CACHE ]]; then
    GW_AOT=("-XX:AOTCache=$AOT_CACHE")
    log "the gateway starts from the AOT cache $AOT_CACHE"
  else
    GW_AOT=("-XX:AOTCacheOutput=$AOT_CACHE")
    log "training run: the gateway writes the AOT cache $AOT_CACHE as it exits"
  fi
fi

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}
FAKE_PORT=$(free_port)
GW_PORT=$(free_port)
METRICS_PORT=$(free_port)
while [[ $GW_PORT == "$FAKE_PORT" ]]; do GW_PORT=$(free_port); done
while [[ $METRICS_PORT == "$FAKE_PORT" || $METRICS_PORT == "$GW_PORT" ]]; do METRICS_PORT=$(free_port); done

wait_for_line() { # file pattern pid seconds
  local file=$1 pattern=$2 pid=$3 limit=$4 i
  for ((i = 0; i < limit * 10; i++)); do
    grep -q "$pattern" "$file" 2>/dev/null && return 0
    kill -0 "$pid" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}

# ------------------------------------------------------------------ fake llama-server
log "starting fake llama-server on $FAKE_PORT (slots $SLOTS, $TOKENS tokens, no token delay)"
# shellcheck disable=SC2086
java ${BENCH_FAKE_JAVA_OPTS:-} -cp "$FAKE_CP" ai.gpt.api.testing.FakeLlamaServer --port "$FAKE_PORT" \
  --slots "$SLOTS" --token-delay-ms 0 --tokens "$TOKENS" --instances "$FAKE_INSTANCES" --model "$MODEL" \
  >"$OUT/fake.log" 2>&1 &
FAKE_PID=$!
PIDS+=("$FAKE_PID")
wait_for_line "$OUT/fake.log" "fake llama-server listening on" "$FAKE_PID" 60 \
  || { tail -30 "$OUT/fake.log" >&2; die "fake llama-server did not start"; }

# ------------------------------------------------------------------ database, redis
log "re-creating database $DB, flushing Redis db $REDIS_DB"
psql -h 127.0.0.1 -U postgres -d postgres -v ON_ERROR_STOP=1 -q \
  -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB" >"$OUT/psql.log" 2>&1 \
  || { cat "$OUT/psql.log" >&2; die "could not re-create database $DB"; }
if command -v redis-cli >/dev/null; then
  redis-cli -h 127.0.0.1 -p 6379 -n "$REDIS_DB" FLUSHDB >/dev/null || die "Redis on 127.0.0.1:6379 not reachable"
fi

GW_ENV=(
  "DATABASE_URL=postgresql://postgres@127.0.0.1:5432/$DB"
  "REDIS_URL=redis://127.0.0.1:6379/$REDIS_DB"
  "KEY_PEPPER=bench-pepper-0123456789abcdef"
  "JWT_SECRET=bench-jwt-secret-0123456789abcdef0123"
  "SECRETS_KEY=bench-secrets-key-0123456789abcdef0123"
  "PORT=$GW_PORT"
  "METRICS_PORT=$METRICS_PORT"
  "HOST=127.0.0.1"
  "ACCESS_LOG_LEVEL=${BENCH_ACCESS_LOG_LEVEL:-INFO}"
  "EVENT_LOOPS=$EVENT_LOOPS"
  "QUEUE_SIZE=100000"
  "METERING_ALLOTMENTS=${BENCH_ALLOTMENTS:-on}"
  # Upstream connections per backend and event loop: the burst's backend has STREAMS slots, and a pool smaller
  # than the slots queues streams inside the gateway (README: size it to the backends' slots).
  "UPSTREAM_POOL_SIZE=$((STREAMS > 512 ? STREAMS : 512))"
)
# Run from $OUT so a developer's .env in the repository cannot leak into the benchmark.
cli() { (cd "$OUT" && env "${GW_ENV[@]}" java -jar "$OUT/app/gpt-api.jar" "$@"); }

# ------------------------------------------------------------------ gateway
log "starting gateway on $GW_PORT (metrics $METRICS_PORT, EVENT_LOOPS=$EVENT_LOOPS)"
# shellcheck disable=SC2086
GW_START=$(date +%s.%N)
(cd "$OUT" && exec env "${GW_ENV[@]}" "$GW_JAVA" "${GW_AOT[@]}" ${BENCH_GATEWAY_JAVA_OPTS:-} -jar "$GW_JAR" serve) \
  >"$OUT/gateway.log" 2>&1 &
GW_PID=$!
PIDS+=("$GW_PID")
ready=0
for ((i = 0; i < 1200; i++)); do
  kill -0 "$GW_PID" 2>/dev/null || break
  if curl -sf -o /dev/null "http://127.0.0.1:$METRICS_PORT/ready"; then ready=1; break; fi
  sleep 0.05
done
[[ $ready == 1 ]] || { tail -40 "$OUT/gateway.log" >&2; die "gateway not ready"; }
python3 -c 'import sys, time; print(f"{time.time() - float(sys.argv[1]):.2f}")' "$GW_START" >"$OUT/ready-seconds.txt"
log "gateway ready $(cat "$OUT/ready-seconds.txt") s after its start"

cli backend add --model "$MODEL" --url "http://127.0.0.1:$FAKE_PORT" --slots "$SLOTS" >"$OUT/cli.log" 2>&1 \
  || { cat "$OUT/cli.log" >&2; die "backend add failed"; }
# The full metered path stays on: every request is admitted (all six windows, a concurrency lease and a credit
# hold) and settled. Limits and credit are set high enough that the load itself never trips them.
bench_org() { # name -> prints the org's new API key; its CLI output goes to $OUT/cli-<name>.log
  local org=$1 log="$OUT/cli-$1.log"
  { cli org create "$org" && cli credits add --org "$org" --usd 1000000 --reason benchmark \
      && cli limits set --org "$org" --rpm 1000000000 --rph 1000000000 --rpd 1000000000 --tpm 1000000000000 \
           --tph 1000000000000 --tpd 1000000000000 --concurrency 100000 \
      && cli key create --org "$org" --name bench; } >"$log" 2>&1 || { cat "$log" >&2; return 1; }
  grep -Eo 'gpt_live_[A-Za-z0-9_-]+' "$log" | tail -1
}
KEY=$(bench_org bench) || die "setting up the bench organization failed"
[[ -n $KEY ]] || { cat "$OUT/cli-bench.log" >&2; die "key create printed no key"; }
# KEYS: what wrk sends through the gateway, comma-separated (one key unless BENCH_ORGS > 1).
KEYS=$KEY
if ((ORGS > 1)); then
  log "setting up $((ORGS - 1)) more organizations"
  setup=()  # (a bare `wait` would also wait for the fake and the gateway)
  for ((i = 2; i <= ORGS; i++)); do
    (bench_org "bench$i" >"$OUT/key-$i.txt") &
    setup+=($!)
    if ((${#setup[@]} == 2)); then wait "${setup[@]}" || true; setup=(); fi  # two CLI JVMs at a time: two cores
  done
  ((${#setup[@]} == 0)) || wait "${setup[@]}" || true
  for ((i = 2; i <= ORGS; i++)); do
    k=$(cat "$OUT/key-$i.txt" 2>/dev/null)
    [[ -n $k ]] || die "organization bench$i printed no key (see $OUT/cli-bench$i.log)"
    KEYS="$KEYS,$k"
  done
fi

BODY_WHOLE="{\"model\":\"$MODEL\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"max_tokens\":$TOKENS}"
BODY_STREAM="{\"model\":\"$MODEL\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"max_tokens\":$TOKENS,\"stream\":true}"
probe() { # url body [key] -> prints HTTP status, body in $OUT/probe.body
  local args=(-s -o "$OUT/probe.body" -w '%{http_code}' -H 'Content-Type: application/json' --max-time 10
              --data "$2" "$1/v1/chat/completions")
  [[ -n ${3:-} ]] && args+=(-H "Authorization: Bearer $3")
  curl "${args[@]}" || true
}
status=$(probe "http://127.0.0.1:$FAKE_PORT" "$BODY_WHOLE")
[[ $status == 200 ]] || { cat "$OUT/probe.body" >&2; die "direct probe answered $status"; }
ok=0
for ((i = 0; i < 300; i++)); do  # the backend enters rotation after its first health probe
  status=$(probe "http://127.0.0.1:$GW_PORT" "$BODY_WHOLE" "$KEY")
  if [[ $status == 200 ]]; then ok=1; break; fi
  sleep 0.1
done
[[ $ok == 1 ]] || { echo "last status $status: $(cat "$OUT/probe.body")" >&2; tail -40 "$OUT/gateway.log" >&2
                    die "gateway never answered 200"; }
status=$(probe "http://127.0.0.1:$GW_PORT" "$BODY_STREAM" "$KEY")
[[ $status == 200 ]] || { cat "$OUT/probe.body" >&2; die "gateway stream probe answered $status"; }
cp "$OUT/probe.body" "$OUT/sample-stream.txt"
log "gateway ready; key ${KEY:0:24}..."

# ------------------------------------------------------------------ load
RESULTS="$OUT/results.tsv"
printf 'name\tscenario\tmode\tconns\ttarget\trequests\tduration_us\trps\tp50_us\tp90_us\tp99_us\tmax_us\tnon2xx\tconnect\tread\twrite\ttimeout\tmean_us\n' \
  >"$RESULTS"

run_wrk() { # target conns stream seconds outfile
  local target=$1 conns=$2 stream=$3 secs=$4 outfile=$5 threads=1 url auth=""
  ((conns > 1)) && threads=2
  case $target in
    direct) url="http://127.0.0.1:$FAKE_PORT" ;;
    unmetered) url="http://127.0.0.1:$OFF_PORT"; auth=$KEYS ;;
    *) url="http://127.0.0.1:$GW_PORT"; auth=$KEYS ;;
  esac
  BENCH_STREAM=$stream BENCH_AUTH=$auth BENCH_MAX_TOKENS=$TOKENS BENCH_MODEL=$MODEL \
    wrk -t"$threads" -c"$conns" -d"${secs}s" --timeout 10s --latency -s "$BENCH_DIR/chat.lua" "$url" \
    >"$outfile" 2>&1 || log "WARNING: wrk exited non-zero ($outfile)"
}

LOG_MARK=$(wc -l <"$OUT/gateway.log")

# Redis's own account of its CPU (INFO cpu) and per command (INFO commandstats), read around each measured run.
redis_stats() { { redis-cli -h 127.0.0.1 -p 6379 INFO cpu; redis-cli -h 127.0.0.1 -p 6379 INFO commandstats; } \
  >"$1" 2>/dev/null || true; }

# The first seconds of load on the freshly started gateway, before any warm-up: three equal consecutive runs.
if ((COLD > 0)); then
  printf 'part\trequests\tduration_us\trps\tp50_us\tp99_us\tnon2xx\n' >"$OUT/cold.tsv"
  for part in 1 2 3; do
    log "cold start, part $part of 3: $((COLD / 3))s at $CONNS connections, non-stream"
    python3 "$BENCH_DIR/cpu.py" snap "$OUT/cpu-cold-$part.before.json" "$GW_PID" "$FAKE_PID" $$
    run_wrk gateway "$CONNS" 0 "$((COLD / 3))" "$OUT/wrk-cold-$part.txt"
    python3 "$BENCH_DIR/cpu.py" snap "$OUT/cpu-cold-$part.after.json" "$GW_PID" "$FAKE_PID" $$
    python3 "$BENCH_DIR/report.py" --wrk-row "$part" "$OUT/wrk-cold-$part.txt" >>"$OUT/cold.tsv"
    python3 "$BENCH_DIR/cpu.py" diff "$OUT/cpu-cold-$part.before.json" "$OUT/cpu-cold-$part.after.json" \
      "$(tail -1 "$OUT/cold.tsv" | cut -f2)" >"$OUT/cpu-cold-$part.json" 2>>"$OUT/cpu.log" || true
  done
fi

# One measured run (after a warm-up), repeated up to BENCH_RETRIES times when other processes took more than
# BENCH_RETRY_FOREIGN_PCT % of a core during it, or when wrk's latencies cannot be right (see report.py,
# latencies_add_up); the last attempt is kept (and flagged by the report).
measure() { # mode conns stream target
  local mode=$1 conns=$2 stream=$3 target=$4 scenario="$1 c$2" name="$1-c$2-$4" attempt line requests foreign latencies
  local gw_pid=$GW_PID
  [[ $target == unmetered ]] && gw_pid=$OFF_PID
  for ((attempt = 0; attempt <= ${BENCH_RETRIES:-2}; attempt++)); do
    if [[ ${BENCH_QUIET_TIMEOUT:-120} != 0 ]]; then
      python3 "$BENCH_DIR/cpu.py" wait-quiet "${BENCH_QUIET_MAX_PCT:-15}" "${BENCH_QUIET_TIMEOUT:-120}" \
        "$gw_pid" "$FAKE_PID" $$ || true
    fi
    log "$scenario $target: ${WARMUP}s warm-up + ${SECONDS_RUN}s measured"
    local costs=""
    if [[ $target == gateway && $SCRIPT_COSTS == 1 ]] && ((WARMUP > 1)); then
      # Redis's time per script, sampled during the discarded warm-up only (logging every command costs Redis).
      python3 "$BENCH_DIR/script_costs.py" "$((WARMUP - 1))" >"$OUT/scripts-$name.txt" 2>&1 &
      costs=$!
    fi
    ((WARMUP > 0)) && run_wrk "$target" "$conns" "$stream" "$WARMUP" "$OUT/warmup-$name.txt"
    [[ -n $costs ]] && { wait "$costs" || true; }
    redis_stats "$OUT/redis-$name.before.txt"
    python3 "$BENCH_DIR/cpu.py" snap "$OUT/cpu-$name.before.json" "$gw_pid" "$FAKE_PID" $$
    run_wrk "$target" "$conns" "$stream" "$SECONDS_RUN" "$OUT/wrk-$name.txt"
    python3 "$BENCH_DIR/cpu.py" snap "$OUT/cpu-$name.after.json" "$gw_pid" "$FAKE_PID" $$
    redis_stats "$OUT/redis-$name.after.txt"
    line=$(grep '^BENCH_RESULT' "$OUT/wrk-$name.txt" | tail -1 || true)
    if [[ -z $line ]]; then
      log "WARNING: no result from wrk for $name:"; cat "$OUT/wrk-$name.txt" >&2; return 0
    fi
    requests=$(sed -E 's/.* requests=([0-9]+).*/\1/' <<<"$line")
    python3 "$BENCH_DIR/cpu.py" diff "$OUT/cpu-$name.before.json" "$OUT/cpu-$name.after.json" "$requests" \
      >"$OUT/cpu-$name.json" 2>>"$OUT/cpu.log" || echo '{}' >"$OUT/cpu-$name.json"
    foreign=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1]))
print(int(d.get("cpu_foreign", 0) + d.get("cpu_unaccounted", 0)))' "$OUT/cpu-$name.json" 2>/dev/null || echo 0)
    latencies=$(python3 -c 'import sys; sys.path.insert(0, sys.argv[1]); from report import latencies_add_up
kv = dict(p.split("=", 1) for p in sys.argv[2].split()[1:]); kv["conns"] = sys.argv[3]
print(1 if latencies_add_up(kv) else 0)' "$BENCH_DIR" "$line" "$conns" 2>/dev/null || echo 1)
    if { ((foreign < ${BENCH_RETRY_FOREIGN_PCT:-25})) && ((latencies == 1)); } || ((attempt == ${BENCH_RETRIES:-2})); then
      break
    fi
    if ((latencies == 0)); then
      log "wrk's latencies for $name add up to more time than its connections had: measuring it again"
    else
      log "other processes used ${foreign}% of a core during $name: measuring it again"
    fi
  done
  python3 - "$name" "$scenario" "$mode" "$conns" "$target" "$line" >>"$RESULTS" <<'EOF'
import sys
name, scenario, mode, conns, target, line = sys.argv[1:]
kv = dict(p.split("=", 1) for p in line.split()[1:])
cols = ["requests", "duration_us", "rps", "p50_us", "p90_us", "p99_us", "max_us", "non2xx", "connect", "read",
        "write", "timeout", "mean_us"]
print("\t".join([name, scenario, mode, conns, target] + [kv[c] for c in cols]))
EOF
}

# One-time JIT warm-up of both servers at full concurrency (discarded).
log "JIT warm-up (discarded)"
for mode in $MODES; do
  stream=0; [[ $mode == stream ]] && stream=1
  if ((JIT_WARMUP > 0)); then
    run_wrk direct "$CONNS" "$stream" "$((JIT_WARMUP < 10 ? JIT_WARMUP : 10))" "$OUT/warmup-jit-direct-$stream.txt"
    run_wrk gateway "$CONNS" "$stream" "$JIT_WARMUP" "$OUT/warmup-jit-gateway-$stream.txt"
  fi
done

for mode in $MODES; do
  for conns in "$CONNS" 1; do
    stream=0; [[ $mode == stream ]] && stream=1
    scenario="$mode c$conns"
    for target in direct gateway; do
      measure "$mode" "$conns" "$stream" "$target"
    done
  done
done

# ------------------------------------------------------------------ metering off: the proxy's own ceiling
# A second gateway on the same database, Redis, fake and key, started with METERING=off: it authenticates and
# proxies exactly as the metered one but makes no metering call. Measured at CONNS against the direct runs above,
# while the metered gateway idles; stopped before the burst.
if ((METERING_OFF)); then
  OFF_PORT=$(free_port)
  OFF_METRICS_PORT=$(free_port)
  log "starting a gateway with METERING=off on $OFF_PORT (metrics $OFF_METRICS_PORT)"
  # shellcheck disable=SC2086
  (cd "$OUT" && exec env "${GW_ENV[@]}" PORT="$OFF_PORT" METRICS_PORT="$OFF_METRICS_PORT" METERING=off \
     REPLICA_NAME=bench-unmetered "$GW_JAVA" ${BENCH_GATEWAY_JAVA_OPTS:-} -jar "$OUT/app/gpt-api.jar" serve) \
    >"$OUT/gateway-unmetered.log" 2>&1 &
  OFF_PID=$!
  PIDS+=("$OFF_PID")
  ok=0
  for ((i = 0; i < 600; i++)); do  # ready, then the backend in rotation after its first health probe
    kill -0 "$OFF_PID" 2>/dev/null || break
    if [[ $(probe "http://127.0.0.1:$OFF_PORT" "$BODY_WHOLE" "$KEY") == 200 ]]; then ok=1; break; fi
    sleep 0.1
  done
  if [[ $ok == 1 ]]; then
    log "metering off: JIT warm-up (discarded)"
    for stream in 0 1; do
      ((OFF_JIT_WARMUP > 0)) && run_wrk unmetered "$CONNS" "$stream" "$OFF_JIT_WARMUP" \
        "$OUT/warmup-jit-unmetered-$stream.txt"
    done
    measure whole "$CONNS" 0 unmetered
    measure stream "$CONNS" 1 unmetered
  else
    log "WARNING: the METERING=off gateway never answered 200 (see $OUT/gateway-unmetered.log)"
  fi
  kill "$OFF_PID" 2>/dev/null || true
  wait "$OFF_PID" 2>/dev/null || true
fi

# ------------------------------------------------------------------ a burst of open streams
# STREAMS slow streams opened at once by one client, from a second fake (the gpt-full model) that streams one
# token per STREAM_DELAY_MS: all must complete; the gateway's heap after a full GC is read while they are open.
if ((STREAMS > 0)); then
  SLOW_PORT=$(free_port)
  log "starting a slow fake llama-server on $SLOW_PORT ($STREAMS slots, $STREAM_TOKENS tokens, ${STREAM_DELAY_MS} ms each)"
  # shellcheck disable=SC2086
  java ${BENCH_FAKE_JAVA_OPTS:-} -cp "$FAKE_CP" ai.gpt.api.testing.FakeLlamaServer --port "$SLOW_PORT" \
    --slots "$STREAMS" --token-delay-ms "$STREAM_DELAY_MS" --tokens "$STREAM_TOKENS" --instances "$FAKE_INSTANCES" \
    --model gpt-full >"$OUT/fake-slow.log" 2>&1 &
  SLOW_PID=$!
  PIDS+=("$SLOW_PID")
  if wait_for_line "$OUT/fake-slow.log" "fake llama-server listening on" "$SLOW_PID" 60 \
     && cli backend add --model gpt-full --url "http://127.0.0.1:$SLOW_PORT" --slots "$STREAMS" >>"$OUT/cli.log" 2>&1; then
    BODY_SLOW="{\"model\":\"gpt-full\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"max_tokens\":1}"
    for ((i = 0; i < 300; i++)); do  # in rotation after its first health probe
      [[ $(probe "http://127.0.0.1:$GW_PORT" "$BODY_SLOW" "$KEY") == 200 ]] && break
      sleep 0.1
    done
    log "burst: $STREAMS streams opened at once"
    python3 "$BENCH_DIR/streams.py" "$GW_PORT" "$KEY" gpt-full "$STREAMS" "$STREAM_TOKENS" "$GW_PID" \
      "$OUT/streams.json" >"$OUT/streams.log" 2>&1 || log "WARNING: the burst client failed (see $OUT/streams.log)"
  else
    log "WARNING: the slow fake did not start or could not be added (see $OUT/fake-slow.log, $OUT/cli.log)"
  fi
fi

# ------------------------------------------------------------------ gateway-side evidence
# Every request the gateway served must end up as one usage row: wait for the usage writer to drain the queue.
for ((i = 0; i < 600; i++)); do
  queued=$(curl -s "http://127.0.0.1:$METRICS_PORT/metrics" | awk '/^gptapi_usage_queue_length/ {s += $2} END {print s + 0}')
  [[ $queued == 0 ]] && break
  sleep 0.1
done
curl -s "http://127.0.0.1:$METRICS_PORT/metrics" >"$OUT/metrics.txt" || true
psql -h 127.0.0.1 -U postgres -d "$DB" -Atc "SELECT count(*) FROM usage" >"$OUT/usage-rows.txt" 2>>"$OUT/psql.log" || true
kill -0 "$GW_PID" 2>/dev/null || log "WARNING: the gateway process died during the run"

tail -n +"$((LOG_MARK + 1))" "$OUT/gateway.log" >"$OUT/gateway-during-load.log"

{
  echo "Benchmark $(date -u +%Y-%m-%dT%H:%MZ) on $(nproc) cores; commit $(git rev-parse --short HEAD 2>/dev/null || echo '?')$(
    [[ -n $(git status --porcelain -- src/main pom.xml 2>/dev/null) ]] && echo ' (with uncommitted src/main changes)');" \
    "gateway EVENT_LOOPS=$EVENT_LOOPS;" \
    "${SECONDS_RUN}s measured after ${WARMUP}s warm-up per run; $TOKENS tokens per completion"
} | tee "$OUT/header.txt"
python3 "$BENCH_DIR/report.py" "$RESULTS" "$OUT/metrics.txt" "$OUT/gateway-during-load.log" "$OUT/usage-rows.txt" | tee "$OUT/report.txt" \
  || log "WARNING: report.py failed; raw results in $RESULTS"
for f in "$OUT"/scripts-*.txt; do
  [[ -f $f ]] || continue
  { echo
    echo "Redis time by script and command (SLOWLOG sampled during the warm-up of ${f##*/scripts-}; a script's"
    echo "time includes the commands it runs, also listed on their own):"
    cat "$f"; } | tee -a "$OUT/report.txt"
done
echo
echo "wrk outputs, gateway and fake-server logs: $OUT"
exit 0
