#!/usr/bin/env bash
# The end-of-session quiet run behind the "quiet end-of-session runs" sections of docs/benchmarks-models.md: the GEMM
# kernels beside the measured peak (with the default 6-row tiles and with 4-row tiles alone), the encoders against
# ONNX Runtime, BERT-base and GPT-2 decoding against libtorch, decoding in f32/bf16/int8, one training step against
# libtorch, and WhereTimeGoes (wall clock) for MiniLM, BERT-base and GPT-2. About 27 minutes on 2 cores; run it with
# nothing else on the machine.
#
#   benchmarks/quiet-run.sh                 # everything, logs into benchmarks/target/quiet/
#   benchmarks/quiet-run.sh ort decode      # some parts: build gemm gemmab ort libtorch decode train where
# (gemm also runs the encoders' own GEMM shapes on 1 thread: gemm-encoder-shapes.log)
set -uo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
source "$ROOT/scripts/find-jdk.sh"
cd "$ROOT"
OUT="$HERE/target/quiet"
mkdir -p "$OUT"
parts=("$@")
[ ${#parts[@]} -eq 0 ] && parts=(build gemm gemmab ort libtorch decode train where)
echo "quiet-run: $(git log --oneline -1 2>/dev/null | cut -c1-80); $(uptime)"
for part in "${parts[@]}"; do
  case "$part" in
    build) ./mvnw -B -q -pl benchmarks -am package -DskipTests ;;
    gemm) benchmarks/run.sh 'GemmKernelBenchmark|PeakBenchmark' > "$OUT/gemm.log" 2>&1
          # the encoders' own GEMM shapes (MiniLM/e5: 384 wide; BERT-base's QKV), 1 thread: what a forward's GEMMs can reach
          JFORMERS_PROPS="-Djformers.bench.param.shape=128x384x1152,128x384x384,128x384x1536,128x1536x384,128x768x2304 -Djformers.bench.param.threads=1" \
            benchmarks/run.sh 'GemmKernelBenchmark|PeakBenchmark' > "$OUT/gemm-encoder-shapes.log" 2>&1 ;;
    gemmab) JFORMERS_PROPS="-Djformers.simd.sixRowTileMaxRows=0" benchmarks/run.sh 'GemmKernelBenchmark|PeakBenchmark' \
              > "$OUT/gemm-four-row-tiles.log" 2>&1 ;;
    ort) NO_BUILD=1 benchmarks/compare.sh --short 'OnnxRuntimeComparison' > "$OUT/ort.log" 2>&1 ;;
    libtorch) NO_BUILD=1 benchmarks/compare.sh --short 'LibtorchComparison' > "$OUT/libtorch.log" 2>&1 ;;
    decode) NO_BUILD=1 benchmarks/compare.sh --short 'DecodeBenchmark' > "$OUT/decode.log" 2>&1 ;;
    train) env -u THP_MEM_ALLOC_ENABLE -u C10_THP_MEM_ALLOC_ENABLE DJL_OFFLINE=true PYTORCH_VERSION=2.7.1 PYTORCH_FLAVOR=cpu \
             "$JAVA_HOME/bin/java" --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -jar benchmarks/target/benchmarks.jar \
             'TrainingStepComparison' -p scenario=minilm-32x128,bert-8x128 -p threads=1,2 -f 1 -prof gc > "$OUT/train.log" 2>&1 ;;
    where) for args in "minilm 1 200" "minilm 1 400 1x16" "minilm 2 200" "bert 1 30" "gpt2 1 6"; do   # where a forward's time goes
             # shellcheck disable=SC2086  # args is a list of arguments on purpose
             "$JAVA_HOME/bin/java" --add-modules jdk.incubator.vector -XX:+UseTransparentHugePages -cp benchmarks/target/benchmarks.jar \
               dev.jformers.benchmarks.models.WhereTimeGoes $args
           done > "$OUT/where.log" 2>&1 ;;
    *) echo "quiet-run: unknown part $part (build gemm gemmab ort libtorch decode train where)" >&2; exit 2 ;;
  esac
  # where the two vCPUs are now (CoreToCore: ~45 ns near, ~300 ns far; 2-thread figures depend on it)
  [ -f benchmarks/target/benchmarks.jar ] && echo "quiet-run: vCPU placement after $part: $("$JAVA_HOME/bin/java" \
    --add-modules jdk.incubator.vector -cp benchmarks/target/benchmarks.jar dev.jformers.cpu.CoreToCore probe 2>/dev/null)"
  echo "quiet-run: $part done, $(uptime)"
done
echo "quiet-run: logs in $OUT"
