#!/usr/bin/env bash
# Rows/s of all-MiniLM-L6-v2 embeddings: in-process vs Spark local[1] vs local[2] (SparkBenchmark).
# Usage: spark/benchmark.sh [sentences=10000] [rounds=2]. Runs at nice 19: the machine may be shared.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
source scripts/find-jdk.sh
# One Maven run, so that the other modules' classes come from the reactor, not from ~/.m2.
./mvnw -B -q test-compile dependency:build-classpath -pl spark -am \
  -Dmdep.outputFile=target/bench.classpath -Dmdep.includeScope=test >/dev/null
CP="$ROOT/spark/target/test-classes:$ROOT/spark/target/classes:$(cat spark/target/bench.classpath)"
FLAGS=$(sed -n '/<spark.jvmFlags>/,/<\/spark.jvmFlags>/p' spark/pom.xml | sed 's/<[^>]*>//g' | tr -s ' \n' ' ')
cd spark
exec nice -n 19 "$JAVA_HOME/bin/java" --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED $FLAGS \
  -Xmx4g -XX:+UseParallelGC -cp "$CP" dev.jformers.spark.SparkBenchmark "$@"
