#!/usr/bin/env bash
# The demo: installs what is missing, builds otterd, runs it on its built-in default (OTLP on
# localhost:4317/4318, file exporters under ./otter-data/), sends sample telemetry through it
# with the OpenTelemetry Python SDK (traces and logs over gRPC, metrics over HTTP/protobuf) and
# with curl (OTLP/JSON), then stops it and shows where the output landed.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

bash scripts/install-deps.sh
if [ ! -d build ]; then
  meson setup build >/dev/null
fi
ninja -C build agent/otterd >/dev/null

demo=$(mktemp -d)
cd "$demo"
echo "==> starting otterd on its default config (working directory $demo)"
"$root/build/agent/otterd" >otterd.log 2>&1 &
pid=$!
trap 'kill -TERM $pid 2>/dev/null || true' EXIT
ready=0
for _ in $(seq 100); do
  if curl -fs http://localhost:8888/readyz >/dev/null 2>&1; then
    ready=1
    break
  fi
  sleep 0.1
done
if [ "$ready" != 1 ]; then
  echo "otterd did not become ready on localhost:8888 within 10 s; its log:" >&2
  cat otterd.log >&2
  exit 1
fi

echo "==> sending a trace, a log and a metric with the OpenTelemetry Python SDK"
"$root/.venv/bin/python" "$root/scripts/demo_send.py"

echo "==> sending one span as OTLP/JSON with curl"
curl -fsS -X POST -H 'Content-Type: application/json' http://localhost:4318/v1/traces \
  --data '{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"curl-demo"}}]},"scopeSpans":[{"scope":{"name":"demo"},"spans":[{"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174","name":"GET /hello","kind":2,"startTimeUnixNano":"1700000000000000000","endTimeUnixNano":"1700000000250000000"}]}]}]}'
echo

echo "==> self-telemetry (http://localhost:8888/metrics), non-zero counters:"
curl -fs http://localhost:8888/metrics | grep -E '^otter_(receiver_items|exporter_sent)_total' |
  grep -v ' 0$' || true

kill -TERM $pid
status=0
wait $pid || status=$?
trap - EXIT
if [ "$status" != 0 ]; then
  echo "otterd exited with status $status; its log:" >&2
  cat otterd.log >&2
  exit 1
fi
echo "==> otterd drained and stopped. What the file exporters wrote (OTLP/JSON, one line per batch):"
for s in traces metrics logs; do
  f=otter-data/$s.jsonl
  if [ ! -s "$f" ]; then
    echo "nothing was written to $demo/$f" >&2
    exit 1
  fi
  printf '%s: %s lines, %s bytes\n' "$demo/$f" "$(wc -l <"$f")" "$(wc -c <"$f")"
done
echo "==> first trace line:"
head -c 600 otter-data/traces.jsonl
echo
