#!/usr/bin/env bash
# Runs the CPU kernel benchmarks with a short configuration (1 fork, 2 warm-up × 1 s, 3 × 1 s each)
# and prints markdown tables: GFLOP/s, GB/s, and their ratio to the FMA peak and read bandwidth
# measured in the same run. Takes about 4 minutes.
#
#   ./mvnw -q -pl runtime-core,kernels-cpu install -DskipTests && ./mvnw -q -pl benchmarks package -DskipTests
#   benchmarks/run.sh                      # everything
#   benchmarks/run.sh 'Gemm|Peak'          # a regex over benchmark names
#   JFORMERS_SIMD_BITS=256 benchmarks/run.sh   # another vector width (passed to the forks)
#   JFORMERS_PROPS="-Djformers.simd.gemmChunksPerThread=2" benchmarks/run.sh 'GemmKernel'   # any jformers.* property, to the forks too
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$HERE/../scripts/find-jdk.sh"
JAR="$HERE/target/benchmarks.jar"
if [ ! -f "$JAR" ]; then
  echo "run.sh: $JAR is missing; build it with: ./mvnw -pl benchmarks package -DskipTests" >&2
  exit 1
fi
ARGS=()
if [ -n "${JFORMERS_SIMD_BITS:-}" ]; then
  ARGS+=("-Djformers.simd.bits=$JFORMERS_SIMD_BITS")
fi
# shellcheck disable=SC2206  # JFORMERS_PROPS is a list of -D flags, split on spaces on purpose
ARGS+=(${JFORMERS_PROPS:-})
exec java --add-modules jdk.incubator.vector "${ARGS[@]}" -cp "$JAR" dev.jformers.benchmarks.KernelReport "$@"
