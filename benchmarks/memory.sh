#!/usr/bin/env bash
# Resident memory of loaded models (docs/benchmarks-models.md, "Memory"): for each model, RSS before and after
# loading it, after a forward pass, and the highest RSS over LOADS loads, each closed before the next.
#   [GC=gc] [JAVA_GC=...] benchmarks/memory.sh [BUILD_ROOT] [LOADS]      (GC=gc: System.gc() after each close)
# JAVA_GC picks the collector and its heap sizing (default -XX:+UseParallelGC, as ./jformers; the JVM's own default is
# G1: JAVA_GC=-XX:+UseG1GC). RSS follows the committed heap, which is the collector's policy, not live data.
# BUILD_ROOT is a built checkout (./mvnw package -DskipTests -pl models -am), by default this one; give an older
# checkout to measure its version with the same probe. Models: BERT-base (TF checkpoint), all-MiniLM-L6-v2 (ONNX),
# from the jformers cache (run the tests once to unpack them), and GPT-2 124M-shaped random weights
# (benchmarks' RandomGpt2 folder). Runs at nice 19: the numbers are resident memory, not time.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=${1:-$(cd "$HERE/.." && pwd)}
LOADS=${2:-20}
source "$HERE/../scripts/find-jdk.sh"
CACHE=${JFORMERS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/jformers}
M2=${MAVEN_REPO:-$HOME/.m2/repository}/com/fasterxml/jackson/core
JACKSON=$(ls "$M2"/jackson-databind/2.23.0/*.jar "$M2"/jackson-core/2.23.0/*.jar "$M2"/jackson-annotations/2.23/*.jar | tr '\n' ':')
CP="$JACKSON"
for m in runtime-core kernels-cpu loaders tokenizers models; do
  CP="$CP$(ls "$ROOT"/$m/target/jformers-$m-*.jar | grep -v -e sources -e javadoc -e tests | head -1):"
done
for model in "$CACHE/models/google-bert--bert-base-uncased" "$CACHE/models/sentence-transformers--all-MiniLM-L6-v2" \
             "$CACHE/benchmarks/gpt2-124m-random"; do
  if [ ! -d "$model" ]; then echo "skipped: $model is missing"; continue; fi
  nice -n 19 "$JAVA_HOME/bin/java" --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED ${JAVA_GC:--XX:+UseParallelGC} ${JAVA_OPTS:-} \
    -cp "$CP" "$HERE/memory/MemoryProbe.java" "$model" "$LOADS" ${GC:-} 2>&1 | grep -v "^WARNING: Using incubator"
done
