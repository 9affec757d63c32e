#!/usr/bin/env bash
# The test suite on one core next to eight busy loops: a loaded CI machine, made on purpose.
# Every test process is pinned to one core (taskset, inherited by the services and agents the
# tests start) and shares it with eight `yes > /dev/null` loops pinned there too, so each gets a
# small slice of a core and every wall-clock assumption in a test shows up as a failure.
# Not part of CI: it takes several times as long as `npm test`.
#
#   scripts/loaded-test.sh                            every test file (those `npm test` runs)
#   scripts/loaded-test.sh test/grpc/grpc.test.mjs    some files only
#
# LOADED_CORE (default 0) is the core used, LOADED_LOOPS (default 8) the number of busy loops.
set -euo pipefail
cd "$(dirname "$0")/.."
core="${LOADED_CORE:-0}"
loops="${LOADED_LOOPS:-8}"
command -v taskset >/dev/null || { echo "taskset (util-linux) is needed" >&2; exit 2; }

# Built first, unloaded: the build is not what is being tested.
npm run build --silent

pids=()
stop_loops() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap stop_loops EXIT INT TERM
for _ in $(seq "$loops"); do
  taskset -c "$core" yes >/dev/null &
  pids+=("$!")
done
echo "=== $loops busy loops on core $core; the suite runs there too ($(node -v))"

# The test files `npm test` runs (its lint and type checks are not about timing), or those named.
if [ "$#" -gt 0 ]; then
  files=("$@")
else
  mapfile -t files < <(find test -path '*/fixtures' -prune -o -path '*/node_modules' -prune -o -type f \( -name '*.test.mjs' -o -name '*.test.cjs' -o -name '*.test.js' \) -print | sort)
fi
started=$(date +%s)
status=0
# A longer per-test limit than npm test's (120 s): a test that only needs time may take it;
# one that waits on a wall-clock bound fails however long it is given.
taskset -c "$core" node --test --test-concurrency=2 --test-timeout=900000 "${files[@]}" || status=$?
echo "=== loaded run: exit $status after $(( $(date +%s) - started )) s"
exit "$status"
