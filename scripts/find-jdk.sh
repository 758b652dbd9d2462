# Sourced by ./mvnw and ./jformers: points JAVA_HOME at a JDK 25 or newer, or stops with
# one line that says what to install. Order: $JAVA_HOME if it is 25+, then the usual
# install locations, then the `java` on PATH.
jformers_java_major() {  # prints the feature version of the JDK at $1, or nothing
  local release="$1/release"
  [ -x "$1/bin/java" ] || return 0
  if [ -f "$release" ]; then
    sed -n 's/^JAVA_VERSION="\([0-9]*\).*/\1/p' "$release"
  else
    "$1/bin/java" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = \([0-9]*\).*/\1/p'
  fi
}

jformers_find_jdk() {
  local candidate major
  for candidate in "${JAVA_HOME:-}" /usr/lib/jvm/* /usr/local/lib/jvm/* /opt/java/* /opt/jdk* \
                   "$HOME"/.sdkman/candidates/java/* "$HOME"/.jdks/* /Library/Java/JavaVirtualMachines/*/Contents/Home \
                   "$(dirname "$(dirname "$(readlink -f "$(command -v java 2>/dev/null || echo /nonexistent)")")")"; do
    [ -n "$candidate" ] && [ -d "$candidate" ] || continue
    [ -x "$candidate/bin/javac" ] || continue
    major=$(jformers_java_major "$candidate")
    if [ -n "$major" ] && [ "$major" -ge 25 ]; then
      echo "$candidate"
      return 0
    fi
  done
  return 1
}

if ! JAVA_HOME=$(jformers_find_jdk); then
  echo "jformers: no JDK 25 or newer found (looked at \$JAVA_HOME, /usr/lib/jvm and java on PATH); install one, e.g. Temurin 25, or set JAVA_HOME to it." >&2
  exit 1
fi
export JAVA_HOME
export PATH="$JAVA_HOME/bin:$PATH"

# Transparent huge pages for the Java heap, where the kernel offers them (mode "always" or "madvise"):
# decoding streams every weight once per token, and with 4 KiB pages the TLB misses cost 10–20% of
# the read bandwidth on a virtual machine (measured, docs/benchmarks-models.md). Elsewhere the flag
# would only print a JVM warning, so it is left out.
JFORMERS_HUGE_PAGES=()
if grep -qE '\[(always|madvise)\]' /sys/kernel/mm/transparent_hugepage/enabled 2>/dev/null; then
  JFORMERS_HUGE_PAGES=(-XX:+UseTransparentHugePages)
fi
