#!/usr/bin/env bash
# The reasoning-suite calibration: one run per task (configs/<task>.toml: preset `reasoning` trained on
# that task alone for about 5 CPU-minutes) x 3 schemes x 3 init seeds, one run at a time, every task and
# scheme at seed 0 first, then seed 1, then seed 2. Resumable: a finished run (record.json) is skipped,
# an interrupted one resumed from its checkpoint. One thread per run: on a shared 2-core machine, two
# threads per process spin against each other's load.
# Usage (from the repository root): nice -n 5 bash results/reasoning-calibration/run.sh
# Several copies may run at once (e.g. two on 2 cores): each takes the next run no other copy holds.
set -u
HERE=results/reasoning-calibration
OUT=$HERE/runs
export OMP_NUM_THREADS=1
mkdir -p "$OUT"
for seed in 0 1 2; do
  for task in anchor rsnmem modadd recall deduction-chain; do
    for scheme in "gamma0.5:--method gamma --gamma 0.5" "gamma1.0:--method gamma --gamma 1.0" \
                  "normal:--method normal"; do
      name=${scheme%%:*}; flags=${scheme#*:}
      id="${task}-${name}-s${seed}"
      exec {claim}>"$OUT/.$id.claim"
      # Held until this run ends; the kernel drops it if the copy dies, so a rerun resumes the run.
      if ! flock -n "$claim" || [ -f "$OUT/$id/record.json" ]; then exec {claim}>&-; continue; fi
      resume=(); if [ -f "$OUT/$id/last.pt" ]; then resume=(--resume); fi
      start=$(date +%s)
      # shellcheck disable=SC2086
      .venv/bin/python -m bench run --config "$HERE/configs/$task.toml" $flags --seed "$seed" --out "$OUT" \
        --run-id "$id" --no-progress "${resume[@]}" > "$OUT/$id.log" 2>&1
      echo "$id rc=$? wall_s=$(( $(date +%s) - start ))" >> "$OUT/progress.txt"
      exec {claim}>&-
    done
  done
done
