#!/usr/bin/env bash
# Coverage-guided fuzzing of the loaders and parsers with Jazzer, one target at a time.
#
#   scripts/fuzz.sh MINUTES [TARGET...]      # default: every target below
#
# A target is MODULE:CLASS#METHOD (see the @FuzzTest classes). Each runs for MINUTES in its own
# JVM at the lowest CPU priority, starting from the committed corpus in
# src/test/resources/<package>/<Class>Inputs/<method>/; an input that finds a bug is written
# there too (and from then on replayed by the plain test run). The corpus the fuzzer grows lies
# in <module>/.cifuzz-corpus/ (not committed). The last libFuzzer status line of each target
# (executions, coverage "cov", features "ft", corpus) is printed and kept in target/fuzz/.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

minutes=${1:?usage: scripts/fuzz.sh MINUTES [MODULE:CLASS#METHOD...]}
shift
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=(
    loaders:LoaderFuzzTest#safetensors
    loaders:LoaderFuzzTest#torch
    loaders:LoaderFuzzTest#pickle
    loaders:LoaderFuzzTest#tfIndex
    loaders:LoaderFuzzTest#onnx
    models:ParserFuzzTest#configJson
    models:ParserFuzzTest#tokenizerJson
  )
fi

mkdir -p target/fuzz
# Compile once; each target then runs against these classes.
nice -n 19 ./mvnw -B -q test-compile -pl loaders,models -am >/dev/null

flags="--add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -Xmx1g -XX:MaxDirectMemorySize=512m -XX:+EnableDynamicAgentLoading"
for t in "${targets[@]}"; do
  module=${t%%:*}
  test=${t#*:}
  log=target/fuzz/${test/\#/.}.log
  echo "fuzz: $test for $minutes min" >&2
  status=0
  JAZZER_FUZZ=1 JAZZER_MAX_DURATION="${minutes}m" JAZZER_INSTRUMENTATION_INCLUDES="dev.jformers.**:com.fasterxml.jackson.core.**" nice -n 19 ./mvnw -B -q -o test -pl "$module" -am \
    -Dtest="$test" -Dsurefire.failIfNoSpecifiedTests=false -Djformers.hostileTests.skip=true \
    -Djformers.jvmFlags="$flags" >"$log" 2>&1 || status=$?
  out=$(ls -t "$module"/target/surefire-reports/*"${test%%#*}"-output.txt 2>/dev/null | head -1 || true)
  [ -n "$out" ] && cp "$out" "target/fuzz/${test/\#/.}.output.txt"
  last=$(grep -hE "^#[0-9]+" "$log" "target/fuzz/${test/\#/.}.output.txt" 2>/dev/null | tail -1 || true)
  echo "$test: exit $status; last status: ${last:-none}"
done
