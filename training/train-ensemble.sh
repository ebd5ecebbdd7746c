#!/usr/bin/env bash
# Trains the ensemble members side by side (one thread each, which uses 2 cores best) and exports the
# served model. Run from the repository root after export-tensors.ts; `npm run train` does both.
set -euo pipefail
SEEDS=${SEEDS:-"20261125 20261126"}
TENSORS=${TENSORS:-training/.cache/tensors}
RUNS=${RUNS:-training/.cache/runs}

pids=()
for seed in $SEEDS; do
  mkdir -p "$RUNS/seed-$seed"
  echo "training member seed $seed; follow it with: tail -f $RUNS/seed-$seed/train.log"
  python3 training/train.py --tensors "$TENSORS" --seed "$seed" --threads 1 --run-dir "$RUNS/seed-$seed" > /dev/null &
  pids+=($!)
done
for pid in "${pids[@]}"; do wait "$pid"; done
members=()
for seed in $SEEDS; do members+=("$RUNS/seed-$seed"); done
python3 training/export.py --tensors "$TENSORS" --members "${members[@]}"
