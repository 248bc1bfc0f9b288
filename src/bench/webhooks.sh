#!/usr/bin/env bash
# Webhook delivery benchmark: usage.recorded events per second that one replica's delivery worker gets into a local
# receiver (which verifies every signature), draining a backlog and keeping up with a live usage writer.
#
#   bash src/bench/webhooks.sh
#
# Needs: Java 17, Maven, PostgreSQL on 127.0.0.1:5432 (user postgres, trust auth) and Redis on 127.0.0.1:6379 (the
# test services). Uses its own database (gptapi_bench_webhooks, dropped and re-created at start) and Redis db 8;
# touches nothing else. It is a measurement: it prints the rates and exits 0 whether or not the target (5,000
# events/s) is met.
#
# Environment overrides:
#   WEBHOOK_BENCH_EVENTS     events written before the drain run (default 100000)
#   WEBHOOK_BENCH_ENDPOINTS  organizations, one endpoint each, the events are spread over (default 10)
#   WEBHOOK_BENCH_SECONDS    length of the live run (default 20)
#   BENCH_DB / BENCH_REDIS_DB  database name and Redis database number
#   BENCH_QUIET_MAX_PCT    first wait until other processes use at most this % of one core (15)
#   BENCH_QUIET_TIMEOUT    ... but no longer than this many seconds (120; 0 = do not wait)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
export WEBHOOK_BENCH=1
export TEST_ADMIN_DATABASE_URL=${TEST_ADMIN_DATABASE_URL:-postgresql://postgres@127.0.0.1:5432/postgres}
export TEST_DATABASE=${BENCH_DB:-gptapi_bench_webhooks}
export TEST_REDIS_URL=redis://127.0.0.1:6379/${BENCH_REDIS_DB:-8}

# Compile first, so the build is not part of what the quiet check sees.
mvn -B -q test-compile -Dskip.npm=true >/dev/null
if [ "${BENCH_QUIET_TIMEOUT:-120}" != 0 ]; then
  python3 "$ROOT/src/bench/cpu.py" wait-quiet "${BENCH_QUIET_MAX_PCT:-15}" "${BENCH_QUIET_TIMEOUT:-120}" $$ $$ $$ \
    || echo "[bench] the machine is busy with other work; measuring anyway (expect lower numbers)" >&2
fi
OUT=$(mktemp /tmp/gptapi-webhook-bench.XXXXXX.log)
echo "[bench] log: $OUT" >&2
if ! mvn -B -q test -Dtest=WebhookThroughputTest -Dsurefire.failIfNoSpecifiedTests=false -Dskip.npm=true >"$OUT" 2>&1; then
  grep -E "ERROR|FAIL" "$OUT" | head -20 >&2 || true
  echo "[bench] the run failed; see $OUT" >&2
  exit 1
fi
grep "WEBHOOK THROUGHPUT" "$OUT"
