#!/usr/bin/env bash
# The reduced Fashion-MNIST run of docs/results-nandi-fashion-mnist.md (Nandi et al. 2023,
# Tables 2/5/8 in shape): a CNN trained 3 epochs with Gaussian noise (sigma 0.5), with
# Normal-Uniform noise NU(sigma_N = 0.5, sigma_U = 0.433) and with NU + R_S (beta = 3, their
# value for this NU); certified on every 20th test image (500 images), n0 = 100, n = 1000:
#  - the Gaussian model with Gaussian sigma 0.5 (l1 := l2);
#  - each NU model with Gaussian sigma 0.6 (l2, l1 := l2) and Uniform sigma 0.65 (l1) on the
#    same model, combined by the `sound` (agree-min) and the `as-published` (max) rules,
#    at alpha = 0.001 per classifier (the paper's setting; the sound rule's confidence is then
#    1 - 2 alpha) and at alpha = 0.0005 per classifier (sound confidence 1 - 0.001).
# Wall times go to timings.tsv.  Resumable.
set -euo pipefail
cd "$(dirname "$0")"
UNICR="${UNICR:-unicr}"
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
EPOCHS=${EPOCHS:-3}
timed() {  # timed NAME CMD...: run CMD, append "NAME<TAB>seconds" to timings.tsv
  local name=$1; shift
  local t0; t0=$(date +%s.%N)
  "$@"
  printf '%s\t%.1f\n' "$name" "$(echo "$(date +%s.%N) - $t0" | bc)" >> timings.tsv
}
NU=(--noise normal_uniform --scale 1 --param sigma_n=0.5 --param sigma_u=0.433)
train() {  # train NAME [options]
  local name=$1; shift
  timed "train $name" $UNICR train --data fashion-mnist --arch cnn --epochs "$EPOCHS" --seed 0 \
    --out "$name.pt" --no-progress "$@"
}
train gauss0.5 --noise gaussian --sigma 0.5
train nu "${NU[@]}"
train nu-rs "${NU[@]}" --method nandi-rs --beta 3
common=(--data fashion-mnist --n0 100 --n 1000 --norms 2 1 --skip 20 --max 500 --batch 1000
        --seed 0 --no-progress)
timed "certify gauss0.5 gaussian0.5" $UNICR certify --model gauss0.5.pt --noise gaussian \
  --sigma 0.5 --alpha 0.001 "${common[@]}" --out gauss0.5.g0.5.tsv
for a in ${ALPHAS:-0.001 0.0005}; do
  for m in nu nu-rs; do
    timed "certify $m gaussian0.6 + uniform0.65 alpha $a" $UNICR certify --model "$m.pt" \
      --noise gaussian --sigma 0.6 --alpha $a "${common[@]}" --out "$m.a$a.tsv" \
      --hybrid-noise uniform --hybrid-sigma 0.65 --hybrid-norms 1
  done
done
for f in gauss0.5.g0.5.tsv nu.a0.001*.tsv nu-rs.a0.001*.tsv; do
  echo "== $f"; $UNICR analyze "$f" --radii 0 0.25 0.5 0.75 1
done > summary.txt
$UNICR analyze gauss0.5.g0.5.tsv nu.a0.001.tsv nu-rs.a0.001.tsv nu.a0.001.hybrid-as-published.tsv \
  nu-rs.a0.001.hybrid-as-published.tsv nu-rs.a0.001.hybrid-sound.tsv --radii 0 0.25 0.5 0.75 1 \
  -o certified-accuracy.png --json > summary.json
for f in nu.a0.0005*.tsv nu-rs.a0.0005*.tsv; do
  echo "== $f"; $UNICR analyze "$f" --radii 0 0.25 0.5 0.75 1
done > summary-a0.0005.txt
