#!/usr/bin/env bash
# The real run of docs/results-iopt-fashion-mnist.md: I-OPT and Auto-Noise per input on the
# Gaussian-trained CNN (sigma = 0.5) of ../fashion-mnist, every 100th test image (100 images),
# each reported as fixed-noise baseline (equal forward passes), as-published, fixed-theta and
# deployable.  Resumable: run it again after an interruption (rows are appended per image and
# the re-run ends with exactly the bytes of an uninterrupted run).
set -euo pipefail
cd "$(dirname "$0")"
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
MODEL=../fashion-mnist/cnn-sigma0.5.pt
MAX=${MAX:-100}
unicr optimize input --model "$MODEL" --data fashion-mnist \
  --family gennorm --start sigma=0.5,beta=2 \
  --range sigma=0.25:0.85 --step sigma=0.15 --range beta=0.5:4.5 --step beta=1 \
  --n-sel 1000 --n 1000 --alpha 0.001 --norms 2 1 inf --baseline-n equal \
  --skip 100 --max "$MAX" --seed 0 --out iopt.tsv --summary iopt-run.json --no-progress
unicr optimize auto-noise --model "$MODEL" --data fashion-mnist \
  --family gaussian --start sigma=0.5 --sigmas 0.12 0.25 0.37 0.5 0.67 0.75 0.87 1.0 \
  --n-auto 1000 --n 2000 --alpha 0.001 --norms 2 1 inf --baseline-n equal \
  --skip 100 --max "$MAX" --seed 0 --out auto-noise.tsv --summary auto-noise-run.json --no-progress
# I-OPT again with the l_1 objective (gennorm's l_1 bounds are close to tight), 60 images
unicr optimize input --model "$MODEL" --data fashion-mnist \
  --family gennorm --start sigma=0.5,beta=2 \
  --range sigma=0.25:0.85 --step sigma=0.15 --range beta=0.5:4.5 --step beta=1 \
  --n-sel 1000 --n 1000 --alpha 0.001 --norms 1 2 inf --baseline-n equal \
  --skip 100 --max "${MAX_L1:-60}" --seed 0 --out iopt-l1.tsv --summary iopt-l1-run.json --no-progress
unicr optimize plot iopt.tsv auto-noise.tsv -o perinput.png
unicr optimize plot iopt.tsv auto-noise.tsv --json > summary.json
