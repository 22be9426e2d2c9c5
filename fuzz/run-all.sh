#!/usr/bin/env bash
# Runs every target (or those named) for RUNS executions each, one after another, with hangs
# and memory growth as failures; prints one line per target: executions, seconds, outcome.
# Usage: fuzz/run-all.sh [target...]   (RUNS=1000000 by default; seeds with seeds.sh first)
set -uo pipefail
cd "$(dirname "$0")"
runs="${RUNS:-1000000}"
targets=("$@")
[ ${#targets[@]} -gt 0 ] || mapfile -t targets < <(cargo fuzz list)
mkdir -p logs
for target in "${targets[@]}"; do
  mkdir -p "corpus/$target" "artifacts/$target"
  start=$(date +%s)
  cargo fuzz run -s none "$target" -- -runs="$runs" -rss_limit_mb=512 -timeout=5 \
    >"logs/$target.log" 2>&1
  status=$?
  secs=$(( $(date +%s) - start ))
  done_line="$(grep -Eo 'Done [0-9]+ runs' "logs/$target.log" | tail -1)"
  if [ $status -eq 0 ]; then outcome=ok; else outcome="FAILED (exit $status, see logs/$target.log)"; fi
  echo "$target: ${done_line:-no completed run}, ${secs}s, $outcome"
done
