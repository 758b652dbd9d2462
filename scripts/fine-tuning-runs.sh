#!/usr/bin/env bash
# The acceptance runs of docs/fine-tuning.md, each at the lowest CPU priority, with wall times.
# Usage: scripts/fine-tuning-runs.sh [spam|spam-bert|moby|mlm]...   (default: all four)
# Data: ../shared/datasets (or DATASETS=...); results under runs/ (ignored by git).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DATA=${DATASETS:-$ROOT/../shared/datasets}
VOCAB=${VOCAB:-$ROOT/../shared/vocab}
OUT=$ROOT/runs
mkdir -p "$OUT"
J="nice -n ${NICE:-19} $ROOT/jformers"   # NICE=0 when the run should get its fair share

timed() {   # name, command...
  local name=$1; shift
  local start=$(date +%s)
  "$@" > "$OUT/$name.out" 2> "$OUT/$name.log"
  echo "$name: $(( $(date +%s) - start )) s wall" | tee -a "$OUT/times.txt"
}

# Moby Dick: the first 95% of the file trains, the last 5% validates (the book's final 10% is held out by
# the dataset itself and not here at all).
split_moby() {
  local lines; lines=$(wc -l < "$DATA/moby-dick.txt")
  head -n $(( lines * 95 / 100 )) "$DATA/moby-dick.txt" > "$OUT/moby-train.txt"
  tail -n +$(( lines * 95 / 100 + 1 )) "$DATA/moby-dick.txt" > "$OUT/moby-valid.txt"
}

for run in "${@:-spam spam-bert moby mlm}"; do
  for r in $run; do
  case $r in
    spam)
      timed spam $J train text-classification --model sentence-transformers/all-MiniLM-L6-v2 \
        --train "$DATA/spam-assassin/train.jsonl" --eval "$DATA/spam-assassin/dev.jsonl" --output "$OUT/spam-minilm" --evaluation-strategy epoch \
        --overwrite-output-dir --save-strategy epoch --save-total-limit 1 --logging-steps 50 --json
      $J text-classification --model "$OUT/spam-minilm" --json \
        "Congratulations! You have been selected to receive a FREE cruise. Click here to claim your prize now" \
        "Re: the build is broken again -- can you look at the failing test before the release tomorrow?" \
        | tee "$OUT/spam-examples.json" ;;
    spam-bert)
      timed spam-bert $J train text-classification --model google-bert/bert-base-uncased --num-train-epochs 1 \
        --learning-rate 2e-5 --train "$DATA/spam-assassin/train.jsonl" --eval "$DATA/spam-assassin/dev.jsonl" \
        --output "$OUT/spam-bert-base" --overwrite-output-dir --save-strategy no --logging-steps 50 --json ;;
    moby)
      split_moby
      timed moby $J train text-generation --config "$ROOT/docs/fine-tuning/gpt2-moby-dick-config.json" \
        --tokenizer "$VOCAB/gpt2" --train "$OUT/moby-train.txt" --eval "$OUT/moby-valid.txt" --output "$OUT/moby-gpt2" \
        --overwrite-output-dir --block-size 256 --per-device-train-batch-size 16 --learning-rate 1e-3 \
        --warmup-ratio 0.05 --weight-decay 0.1 --num-train-epochs ${MOBY_EPOCHS:-4} --evaluation-strategy steps \
        --eval-steps ${MOBY_EVAL_STEPS:-50} --logging-steps 10 --save-strategy epoch --save-total-limit 1 --json
      $J text-generation --model "$OUT/moby-gpt2" --max-new-tokens 60 --do-sample --seed 1 "Call me" | tee "$OUT/moby-sample.txt" ;;
    mlm)
      split_moby
      # evaluate with the training's block size and seed, so before and after see the same blocks and masks
      timed mlm-before $J evaluate fill-mask --model google-bert/bert-base-uncased --data "$OUT/moby-valid.txt" \
        --block-size 128 --json
      timed mlm $J train fill-mask --model google-bert/bert-base-uncased --train "$OUT/moby-train.txt" \
        --eval "$OUT/moby-valid.txt" --output "$OUT/mlm-bert-base" --overwrite-output-dir --block-size 128 \
        --max-steps ${MLM_STEPS:-200} --learning-rate 5e-5 --per-device-train-batch-size 8 --logging-steps 10 \
        --evaluation-strategy steps --eval-steps 100 --save-strategy no --json
      timed mlm-after $J evaluate fill-mask --model "$OUT/mlm-bert-base" --data "$OUT/moby-valid.txt" --block-size 128 --json ;;
    *) echo "unknown run $r (spam, spam-bert, moby, mlm)" >&2; exit 2 ;;
  esac
  done
done
