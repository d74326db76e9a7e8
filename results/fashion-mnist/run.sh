#!/usr/bin/env bash
# The real run of docs/results-fashion-mnist.md: train a CNN per sigma with Gaussian noise,
# then certify every 20th test image (500 images) with n = 10,000.  Every step resumes
# when the script is run again (checkpoints per epoch, results appended per image).
set -euo pipefail
cd "$(dirname "$0")"
SIGMAS=${SIGMAS:-"0.12 0.25 0.5 1.0"}
EPOCHS=${EPOCHS:-10}
for s in $SIGMAS; do
  unicr train --data fashion-mnist --arch cnn --noise gaussian --sigma "$s" \
    --epochs "$EPOCHS" --lr-step 4 --lr-gamma 0.3 --seed 0 --out "cnn-sigma$s.pt" --no-progress
done
for s in $SIGMAS; do
  OMP_NUM_THREADS=${OMP_NUM_THREADS:-1} unicr certify --model "cnn-sigma$s.pt" --data fashion-mnist \
    --noise gaussian --sigma "$s" --n0 100 --n 10000 --alpha 0.001 --norms 1 2 inf \
    --skip 20 --max 500 --batch 1000 --seed 0 --radius-method auto --out "certify-sigma$s.tsv" \
    --no-progress
done
# the summary once every sigma has its 500 rows (run with all SIGMAS, or again at the end)
unicr analyze certify-sigma*.tsv -o certified-accuracy.png --json > summary.json
