#!/usr/bin/env bash
# The reduced Fashion-MNIST run of docs/results-feng-fashion-mnist.md (Feng et al. 2020, Table 1
# in shape): sigma = 0.25, a CNN trained 3 epochs with plain Gaussian noise (Basic) and with
# ADRE_REG (Table 1's single-draw variant, k = 2, lambda = 0.1 and 0.3); each certified on every
# 20th test image (500 images), n0 = 100, n = 1000, alpha = 0.001, with CERTIFY (binary) and
# T-CERTIFY (two-sided, Eq. 14 runner-up, alpha' grid 0.1..1.0 with Bonferroni) on the same
# draws (same --seed); tcertify_published.py adds the plain grid maximum (as printed, not a
# certificate) on the same draws.  Wall times go to timings.tsv.  Resumable.
set -euo pipefail
cd "$(dirname "$0")"
UNICR="${UNICR:-unicr}"
PYTHON="${PYTHON:-python}"
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
S=0.25
EPOCHS=${EPOCHS:-3}
GRID="0.1 0.2 0.3 0.4 0.5 0.6 0.7 0.8 0.9 1.0"
timed() {  # timed NAME CMD...: run CMD, append "NAME<TAB>seconds" to timings.tsv
  local name=$1; shift
  local t0; t0=$(date +%s.%N)
  "$@"
  printf '%s\t%.1f\n' "$name" "$(echo "$(date +%s.%N) - $t0" | bc)" >> timings.tsv
}
train() {  # train NAME [method options]
  local name=$1; shift
  timed "train $name" $UNICR train --data fashion-mnist --arch cnn --noise gaussian --sigma $S \
    --epochs "$EPOCHS" --seed 0 --out "$name.pt" --no-progress "$@"
}
train basic
train adre-l0.1 --method adre-reg --variant single --k 2 --lambda 0.1
train adre-l0.3 --method adre-reg --variant single --k 2 --lambda 0.3
for m in basic adre-l0.1 adre-l0.3; do
  common=(--model "$m.pt" --data fashion-mnist --noise gaussian --sigma $S --n0 100 --n 1000
          --alpha 0.001 --norms 2 1 --skip 20 --max 500 --batch 1000 --seed 0 --no-progress)
  timed "certify $m binary" $UNICR certify "${common[@]}" --out "$m.certify.tsv"
  timed "certify $m t-certify-bonferroni" $UNICR certify "${common[@]}" --mode two-sided \
    --runner-up generalized --split-grid $GRID --out "$m.tcertify-bonferroni.tsv"
  timed "tcertify-published $m" $PYTHON tcertify_published.py "$m.pt" $S "$m.certify.tsv" \
    "$m.tcertify-bonferroni.tsv" "$m.tcertify-all.tsv" > "$m.tcertify-all.txt"
done
$UNICR analyze basic.certify.tsv adre-l0.1.certify.tsv adre-l0.3.certify.tsv \
  --radii 0 0.25 0.5 0.75 -o certified-accuracy.png --json > summary.json
for m in basic adre-l0.1 adre-l0.3; do
  for f in "$m.certify.tsv" "$m.tcertify-bonferroni.tsv"; do
    echo "== $f"; $UNICR analyze "$f" --radii 0 0.25 0.5 0.75
  done
done > summary.txt
