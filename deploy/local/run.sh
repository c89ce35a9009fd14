#!/usr/bin/env bash
# Runs the whole backend on loopback: the dev broker and every service as
# separate processes, data under ./var (kept across runs). Ctrl-C stops
# everything in order (services drain, publish what is left, close stores).
#
#   bazel/deps.sh && deploy/local/run.sh
#
# Ports: gRPC 7101 intake, 7102 supervision, 7103 dispatch, 7104 oversight,
# 7105 registry; /metrics on 9101..9105. The broker's port changes at every
# start and is passed through var/kafka.bootstrap.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
VAR=${WANGGE_VAR:-$ROOT/var}
PARTITIONS=${WANGGE_PARTITIONS:-8}

mkdir -p "$VAR/dev" "$VAR/log"
echo "building (log: $VAR/log/build.log)..."
if ! bazel build -c opt //services/devbroker //services/intake //services/supervision \
  //services/dispatch //services/oversight //services/registry //services/cli:wangge \
  //services/registry/generator:registry_generate //services/audit >"$VAR/log/build.log" 2>&1; then
  tail -30 "$VAR/log/build.log"
  exit 1
fi
BIN=$ROOT/bazel-bin/services

# Development token secret (HS256); production uses RS256/ES256 keys.
[[ -s "$VAR/dev/jwt.key" ]] || head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$VAR/dev/jwt.key"
chmod 600 "$VAR/dev/jwt.key"

pids=()
stop() {
  trap - INT TERM
  echo
  echo "stopping..."
  # Services first (they drain and publish what is left), the broker last.
  for ((i=${#pids[@]}-1; i>=1; i--)); do kill -TERM "${pids[$i]}" 2>/dev/null || true; done
  for ((i=${#pids[@]}-1; i>=1; i--)); do wait "${pids[$i]}" 2>/dev/null || true; done
  if [[ ${#pids[@]} -gt 0 ]]; then
    kill -TERM "${pids[0]}" 2>/dev/null || true
    wait "${pids[0]}" 2>/dev/null || true
  fi
  echo "stopped; data kept in $VAR"
  exit "${1:-0}"
}
trap stop INT TERM

rm -f "$VAR/kafka.bootstrap"
# Each child in its own session: Ctrl-C reaches only this script, which then
# stops the services before the broker.
setsid "$BIN/devbroker/devbroker" --bootstrap_file="$VAR/kafka.bootstrap" \
  --partitions="$PARTITIONS" >"$VAR/log/devbroker.out" 2>"$VAR/log/devbroker.log" &
pids+=($!)
for _ in $(seq 100); do [[ -s "$VAR/kafka.bootstrap" ]] && break; sleep 0.1; done
[[ -s "$VAR/kafka.bootstrap" ]] || { echo "dev broker did not start (see $VAR/log/devbroker.log)"; stop 1; }

declare -A PORT=([intake]=7101 [supervision]=7102 [dispatch]=7103 [oversight]=7104 [registry]=7105)
peers=""
for s in intake supervision dispatch oversight registry; do
  peers+=" --${s}_addr=127.0.0.1:${PORT[$s]}"
done
# A development clock: `wangge demo` moves it (through this file) to reach
# deadlines. It only ever moves forward and is kept across restarts.
[[ -s "$VAR/dev/clock.offset" ]] || echo 0 >"$VAR/dev/clock.offset"
# The load generator and the demo read contacts far faster than a person
# (intake only: the others have no such flag, and ignore the variable).
export REVEAL_RATE_PER_AGENT="${REVEAL_RATE_PER_AGENT:-0}"
for s in registry intake supervision dispatch oversight; do
  # shellcheck disable=SC2086
  setsid "$BIN/$s/$s" --listen="127.0.0.1:${PORT[$s]}" \
    --dev_clock_offset_file="$VAR/dev/clock.offset" \
    --metrics_listen="127.0.0.1:$((PORT[$s] + 2000))" \
    --data_dir="$VAR/$s" --partitions="$PARTITIONS" \
    --kafka_bootstrap_file="$VAR/kafka.bootstrap" \
    --plaintext --jwt_key_file="$VAR/dev/jwt.key" $peers \
    >"$VAR/log/$s.out" 2>"$VAR/log/$s.log" &
  pids+=($!)
done
for s in registry intake supervision dispatch oversight; do
  # A store holding a long history takes a while to open.
  for _ in $(seq 1200); do grep -q listening "$VAR/log/$s.out" 2>/dev/null && break; sleep 0.1; done
  grep -q listening "$VAR/log/$s.out" || { echo "$s did not start (see $VAR/log/$s.log)"; stop 1; }
done

# The demo deployment: a Chengdu-style district (micro-grids, dedicated grids)
# and a Dongcheng-style one. Generated (deterministically) at every start and
# imported under an id derived from its content: the same demo is not imported
# twice, and a registry holding an older demo is reported, not silently kept.
WANGGE="$BIN/cli/wangge --key_file=$VAR/dev/jwt.key"
"$BIN/registry/generator/registry_generate" --city=demo --seed=1 --out="$VAR/demo.json" 2>/dev/null
DEMO_ID="demo-$(sha256sum "$VAR/demo.json" | cut -c1-16)"
if ! $WANGGE registry import "$VAR/demo.json" --request_id="$DEMO_ID"; then
  echo "demo import failed; if $VAR holds a registry from an older demo, remove $VAR and start again"
  stop 1
fi
# The red line (一根红线) of the Chengdu-style district, once oversight has
# followed the registry that far (idempotent: request ids name the areas).
redline_ok=""
for _ in $(seq 60); do
  if $WANGGE redline demo 510101 >"$VAR/log/redline.log" 2>&1; then redline_ok=1; break; fi
  sleep 0.5
done
[[ -n "$redline_ok" ]] || echo "warning: the demo red line was not loaded (see $VAR/log/redline.log)"

cat <<TXT

Wangge is running (data in $VAR, logs in $VAR/log):
  dev broker   $(cat "$VAR/kafka.bootstrap")   (Kafka protocol; memory only)
  intake       127.0.0.1:7101   metrics http://127.0.0.1:9101/metrics
  supervision  127.0.0.1:7102   metrics http://127.0.0.1:9102/metrics
  dispatch     127.0.0.1:7103   metrics http://127.0.0.1:9103/metrics
  oversight    127.0.0.1:7104   metrics http://127.0.0.1:9104/metrics
  registry     127.0.0.1:7105   metrics http://127.0.0.1:9105/metrics

Try (wangge = $BIN/cli/wangge --key_file=$VAR/dev/jwt.key):
  wangge registry list                         # top-level areas of the demo
  wangge registry list 510101                  # streets of the Chengdu-style district
  wangge registry locate 104.06 30.66          # the smallest area at a point (WGS84)
  wangge registry locate 116.41 39.93 --as_of=2023-06-01T00:00:00Z   # before the demo existed
  wangge report 116.41 39.93 --category=event/01/0102 --description="暴露垃圾 exposed rubbish"   # as the 12345 hotline
  wangge report 104.0624 30.6624 --coordinate_system=gcj02 --category=component/01/0101 --description="井盖缺失"
  wangge report-get <case id>
  # the closed loop (demo staff: supervisor-<community code>, handler-<type>-<district>):
  wangge case verify <case id> --subject=supervisor-<first 12 digits of the area>
  wangge case file <case id> --urgency=ordinary
  wangge task queue sanitation-110101          # the department's open tasks
  wangge task accept task/<case id>/1 --department=sanitation-110101
  wangge task handled task/<case id>/1 --department=sanitation-110101 --note="cleared"
  wangge case check <case id> --subject=supervisor-<community code>
  wangge case close <case id> --closing_type=normal
  wangge case timeline <case id>               # every service's events, in order
  wangge evaluation 110101                     # 综合评价, the last 30 days
  wangge demo --stack_dir=$VAR                 # one case through the whole loop (moves the dev clock)
  wangge coverage 510101                       # the red line (一根红线): gaps
  wangge notice list --subject=party-<area code>   # a party overseer's 督办
  wangge heads registry                        # events per partition
  wangge token --role=shift_leader --scope=110101
  kcat -b \$(cat $VAR/kafka.bootstrap) -L                 # topics and partitions
  kcat -b \$(cat $VAR/kafka.bootstrap) -C -t wangge.intake.events -e -f '%p/%o %k\n'
  curl -s http://127.0.0.1:9101/metrics | grep wangge_   # RPC metrics appear after the first call
  grpcurl -plaintext 127.0.0.1:7101 list                   # reflection, if grpcurl is installed

Ctrl-C stops everything.
TXT
while true; do
  for pid in "${pids[@]}"; do
    if ! kill -0 "$pid" 2>/dev/null; then echo "process $pid exited; see $VAR/log"; stop; fi
  done
  sleep 1
done
