#!/usr/bin/env bash
# timed.sh STAGE COMMAND...: run one stage of `make test`, then say how long it took, on the console and in
# .stage-times (which `make test` prints as a table at its end). The stage's exit status is kept.
set -uo pipefail
stage="$1"
shift
start=$(date +%s%N)
"$@"
status=$?
seconds=$(awk -v ns="$(( $(date +%s%N) - start ))" 'BEGIN { printf "%.1f", ns / 1e9 }')
outcome=$([[ $status -eq 0 ]] && echo ok || echo "FAILED ($status)")
printf '%-12s %8s s  %s\n' "$stage" "$seconds" "$outcome" | tee -a "$(dirname "$0")/../.stage-times"
exit "$status"
