#!/usr/bin/env bash
# What ParallelGC's heap-ratio flags cost in CPU time (docs/benchmarks-models.md, "What stays after close"):
# the ./jformers command line with its collector as shipped before (A: -XX:+UseParallelGC, default sizing) and with
# -XX:MinHeapFreeRatio=10 -XX:MaxHeapFreeRatio=30 (B), on a short inference (feature-extraction, all-MiniLM-L6-v2,
# 64 mails of the SpamAssassin dev set cut to 128 tokens) and a few training steps (text-classification, all-MiniLM-L6-v2,
# 64 rows, 4 steps of 8). A and B alternate (A B, then B A, ...) so that load drifting over the run hits both;
# each run's process CPU time (user + system, all threads: the collector's own threads included) and peak RSS
# come from /usr/bin/time. Prints every run and the minimum and median per variant.
#   [ROUNDS=5] [NICE=19] benchmarks/gc-flags.sh
# Needs cli/target/jformers.jar (./jformers builds it), the MiniLM model in the jformers cache and
# ../shared/datasets/spam-assassin (or DATA=DIR with train.jsonl and dev.jsonl).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
source "$ROOT/scripts/find-jdk.sh"
ROUNDS=${ROUNDS:-5}
CACHE=${JFORMERS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/jformers}
MODEL=${MODEL:-$CACHE/models/sentence-transformers--all-MiniLM-L6-v2}
DATA=${DATA:-$ROOT/../shared/datasets/spam-assassin}
JAR="$ROOT/cli/target/jformers.jar"
[ -f "$JAR" ] || { echo "no $JAR: run ./jformers --version first" >&2; exit 1; }
[ -d "$MODEL" ] || { echo "no $MODEL" >&2; exit 1; }
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
head -n 64 "$DATA/train.jsonl" > "$WORK/train.jsonl"
head -n 64 "$DATA/dev.jsonl" > "$WORK/dev.jsonl"     # JSON lines with a "text" field (the label is not read)

declare -A FLAGS=([A]="" [B]="-XX:MinHeapFreeRatio=10 -XX:MaxHeapFreeRatio=30")
run() {   # variant, task name, then the jformers arguments
  local v=$1 what=$2; shift 2
  nice -n "${NICE:-19}" /usr/bin/time -f "%U %S %M" -o "$WORK/time" "$JAVA_HOME/bin/java" --add-modules jdk.incubator.vector \
    --enable-native-access=ALL-UNNAMED -XX:+UseParallelGC ${FLAGS[$v]} -jar "$JAR" "$@" >/dev/null 2>"$WORK/err" \
    || { cat "$WORK/err" >&2; exit 1; }
  read -r user sys rss < "$WORK/time"
  printf '%s %s cpu_s %.2f rss_mb %d\n' "$what" "$v" "$(echo "$user + $sys" | bc)" $((rss / 1024)) | tee -a "$WORK/results"
}
for ((r = 0; r < ROUNDS; r++)); do
  order="A B"; ((r % 2)) && order="B A"
  for v in $order; do
    run "$v" inference feature-extraction --model "$MODEL" --input-file "$WORK/dev.jsonl" --pooling mean --truncation \
      --max-length 128 --threads 1
    rm -rf "$WORK/out"
    run "$v" training train text-classification --model "$MODEL" --train "$WORK/train.jsonl" --output "$WORK/out" \
      --max-steps 4 --per-device-train-batch-size 8 --save-strategy no --disable-tqdm --threads 1
  done
done
echo "--- minimum and median CPU seconds, highest RSS, per variant (A: default sizing, B: ${FLAGS[B]})"
for what in inference training; do
  for v in A B; do
    cpu=$(grep "^$what $v " "$WORK/results" | awk '{print $4}' | sort -n)
    n=$(echo "$cpu" | wc -l)
    rss=$(grep "^$what $v " "$WORK/results" | awk '{print $6}' | sort -n | tail -1)
    printf '%-9s %s  min %s  median %s  (of %d runs)  highest RSS %s MB\n' "$what" "$v" "$(echo "$cpu" | head -1)" \
      "$(echo "$cpu" | sed -n "$(((n + 1) / 2))p")" "$n" "$rss"
  done
done
