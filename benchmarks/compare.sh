#!/usr/bin/env bash
# Head-to-head model benchmarks: jformers against ONNX Runtime 1.29 (all-MiniLM-L6-v2, e5-small-v2 on the
# same ONNX files), against libtorch 2.7.1 through DJL (BERT-base with Google's weights; GPT-2 124M-shaped
# greedy decoding on random weights), and tokenizer throughput. Builds benchmarks.jar (with the modules it
# depends on, from source), runs the JMH suites and prints markdown tables (ms, ratio, GFLOP/s and % of
# the machine's FP32 peak, GPT-2 tokens/s and % of the memory-bandwidth bound, tokenizer MB/s).
#
#   benchmarks/compare.sh            # = --short: 1 fork, 3 warm-ups × 1 s, 3 × 1 s; ONNX shapes 1x16, 1x128, 32x128 (~10 min)
#   benchmarks/compare.sh --full     # every shape (also 1x512, 8x128), 2 warm-ups × 2 s, 5 × 2 s (~35 min)
#   benchmarks/compare.sh --short 'LibtorchComparison'   # a regex over benchmark names
#   benchmarks/compare.sh --training # one training step against libtorch, the backward kernels, the peak (docs/benchmarks-models.md)
#   NO_BUILD=1 benchmarks/compare.sh # reuse target/benchmarks.jar
#   JFORMERS_PROPS="-Djformers.simd.gemvChunksPerThread=1" benchmarks/compare.sh ...   # jformers.* properties, to the forks too
#
# Everything runs offline: the models come from the local Maven repository (MavenModels), libtorch from
# the pytorch-native-cpu jar on the class path (DJL offline mode). Tables also go to target/compare-*.md.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
source "$ROOT/scripts/find-jdk.sh"
MODE=--short
ARGS=()
TRAINING=
for a in "$@"; do
  case "$a" in
    --short|--full) MODE="$a" ;;
    --training) TRAINING=1; ARGS+=("$a") ;;
    *) ARGS+=("$a") ;;
  esac
done
JAR="$HERE/target/benchmarks.jar"
if [ -z "${NO_BUILD:-}" ]; then
  echo "compare.sh: building $JAR" >&2
  (cd "$ROOT" && ./mvnw -q -B -pl benchmarks -am package -DskipTests)
fi
[ -f "$JAR" ] || { echo "compare.sh: $JAR is missing" >&2; exit 1; }
# JMH forks start from the jar: run a private copy, so that a rebuild of target/ meanwhile cannot break the run.
RUNDIR=$(mktemp -d "${TMPDIR:-/tmp}/jformers-compare.XXXXXX")
trap 'rm -rf "$RUNDIR"' EXIT
cp "$JAR" "$RUNDIR/benchmarks.jar"
JAR="$RUNDIR/benchmarks.jar"
echo "compare.sh: load before: $(uptime)" >&2
# Where the hypervisor has put the two vCPUs (CoreToCore; they move within minutes): ~45 ns a round trip when they share
# an L3, ~300 ns when not — a 2-thread encoder forward then does 1.19–1.23× the 1-thread work instead of 1.04–1.09×
# (docs/benchmarks-models.md, twelfth session). Printed before and after, so that 2-thread figures can be read with it.
placement() { "$JAVA_HOME/bin/java" --add-modules jdk.incubator.vector -cp "$JAR" dev.jformers.cpu.CoreToCore probe 2>/dev/null; }
echo "compare.sh: vCPU placement before: $(placement)" >&2
export DJL_OFFLINE=true PYTORCH_VERSION=2.7.1 PYTORCH_FLAVOR=cpu
# Huge pages on both sides: the JVM forks get -XX:+UseTransparentHugePages (ForkFlags, when the kernel offers
# THP) and libtorch's CPU allocator madvises its large tensors (the variable's name changed across releases).
# What THP_MEM_ALLOC_ENABLE does in libtorch 2.7.1 (c10's alloc_cpu; the name is the one in the shipped
# libc10.so): every CPU tensor of 2 MiB or more is allocated page-aligned and madvise(MADV_HUGEPAGE)d, nothing
# else. Inference keeps its weights and reuses few large buffers, so it gains. A training step allocates and
# frees hundreds of MB of large tensors every step; glibc hands such chunks back to the kernel on free, so each
# step faults its huge pages in again, and with THP defrag "madvise" (this VM) those faults compact memory
# synchronously: libtorch's 1-thread BERT-base step took 8.9 s instead of 6.4 s, and twice its loss check
# failed (0.8992 against 0.8294 from jformers and from libtorch without the variable; not explained, not seen
# without it). So the training comparison runs libtorch with its default allocator: fair (the JVM keeps its
# heap mapped; libtorch keeps glibc's behaviour) and checked correct.
if [ -n "$TRAINING" ]; then
  unset THP_MEM_ALLOC_ENABLE C10_THP_MEM_ALLOC_ENABLE
else
  export THP_MEM_ALLOC_ENABLE=1 C10_THP_MEM_ALLOC_ENABLE=1
fi
echo "compare.sh: transparent huge pages: $(cat /sys/kernel/mm/transparent_hugepage/enabled 2>/dev/null || echo unknown)" >&2
LOG="$HERE/target/compare-$(date -u +%Y%m%dT%H%M%SZ)"
cd "$ROOT"   # the tokenizer benchmark finds testdata/vocab from here
"$JAVA_HOME/bin/java" --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED ${JFORMERS_HUGE_PAGES[@]+"${JFORMERS_HUGE_PAGES[@]}"} \
  -Djformers.bench.vocab="$ROOT/testdata/vocab" ${JFORMERS_PROPS:-} \
  -cp "$JAR" dev.jformers.benchmarks.models.ModelReport "$MODE" ${ARGS[@]+"${ARGS[@]}"} | tee "$LOG.log"
# The tables are everything after the line that starts "Run " (printed once the suites are done).
sed -n '/^Run .* configuration)/,$p' "$LOG.log" > "$LOG.md"
echo "compare.sh: vCPU placement after: $(placement)" >&2
echo "compare.sh: load after: $(uptime); tables in $LOG.md, JMH log in $LOG.log" >&2
