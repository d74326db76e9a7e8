#!/usr/bin/env bash
# The real C-OPT run of docs/results-copt-fashion-mnist.md (UniCR Table 2's protocol on
# Fashion-MNIST, cut to fit ~45 minutes of one CPU core): an MLP per (beta, sigma) trained with
# sigma-matched generalized normal noise, certified on 500 validation images carved from the
# training split; the winners are certified on the first 500 test images.
# Resumable: run it again after a kill; finished points are not redone and summary.json comes
# out byte-identical.  Model checkpoints (points/*/model.pt) are not committed (.gitignore).
set -euo pipefail
cd "$(dirname "$0")"
UNICR=${UNICR:-unicr}
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}   # a good neighbour on a shared machine
$UNICR optimize classifier --data fashion-mnist --arch mlp --family gennorm \
  --grid beta=0.25,0.5,0.75,1,1.5,2,2.25,2.5,3,4 --sigmas 0.12 0.25 0.5 1.0 \
  --epochs 3 --val-size 500 --max 500 --n0 100 --n 1000 --alpha 0.001 --norms 1 2 inf \
  --seed 0 --out . --plot copt-heatmap.png --no-progress
