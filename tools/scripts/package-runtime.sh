#!/usr/bin/env bash
# Builds a self-contained Panomni runtime for machines without a JDK (GPU hosts, clusters):
#   dist/panomni-runtime/
#     runtime/                jlink image: the JDK modules the jars need (jdeps decides), compressed, stripped
#     lib/panomni.jar         the application (all modules)
#     test-lib/               JUnit console launcher and the modules' test jars (for bin/panomni-gpu-tests)
#     bin/panomni             runs the CLI: bin/panomni doctor, bin/panomni train ...
#     bin/panomni-gpu-tests   runs the GPU test suite (@Tag("gpu")) and prints passed / failed / skipped
#     bin/panomni-bench       with --with-bench: the JMH benchmarks (bench classes + JMH on panomni.jar's class path)
#
#   tools/scripts/package-runtime.sh [--output DIR] [--skip-build] [--with-bench] [--headless]
#   (./panomni package runs it)
#
#   --headless  leaves out the desktop/SQL/debugger modules that only plots (JFreeChart), chat templates
#               (Jinjava) and JMH's optional profilers load: about half the image, so that the image, the
#               benchmarks and the working tree fit a GPU host's 64 MiB transfer limit. Training with
#               plots needs the full image.
#
# Needs a JDK 22+ whose jlink can link (jmods present, or a JDK built with --enable-linkable-runtime such as
# Temurin 24+), and Maven Central once to fetch the JUnit console launcher.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
OUT="$ROOT/dist/panomni-runtime"
BUILD=1
WITH_BENCH=0
HEADLESS=0
JUNIT_CONSOLE_VERSION="${JUNIT_CONSOLE_VERSION:-1.14.1}"
while [ $# -gt 0 ]; do
  case "$1" in
    --output) OUT="$(realpath -m "$2")"; shift 2 ;;
    --skip-build) BUILD=0; shift ;;
    --with-bench) WITH_BENCH=1; shift ;;
    --headless) HEADLESS=1; shift ;;
    -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
    *) echo "package-runtime: unknown argument $1" >&2; exit 2 ;;
  esac
done

if [ -z "${JAVA_HOME:-}" ] || [ ! -x "$JAVA_HOME/bin/jlink" ]; then
  for d in /usr/lib/jvm/temurin-25-jdk-amd64 /usr/lib/jvm/* /opt/java/*; do
    if [ -x "$d/bin/jlink" ] && "$d/bin/java" -version 2>&1 | grep -qE 'version "(2[2-9]|[3-9][0-9])'; then
      export JAVA_HOME="$d"; break
    fi
  done
fi
[ -x "${JAVA_HOME:-}/bin/jlink" ] || { echo "package-runtime: need a JDK 22+ with jlink (set JAVA_HOME)" >&2; exit 1; }
cd "$ROOT"
MVN=(./mvnw -B -ntp -q)

if [ "$BUILD" = 1 ]; then
  echo "package-runtime: building the jars (tests compiled, not run)..." >&2
  "${MVN[@]}" -o -DskipTests package >&2 || "${MVN[@]}" -DskipTests package >&2
fi
APP="$ROOT/trainer/target/panomni.jar"
[ -f "$APP" ] || { echo "package-runtime: $APP missing (build failed?)" >&2; exit 1; }

STAGE="$(mktemp -d)"
trap 'rm -rf "$STAGE"' EXIT
CONSOLE="$STAGE/junit-platform-console-standalone-$JUNIT_CONSOLE_VERSION.jar"
ARTIFACT="org.junit.platform:junit-platform-console-standalone:$JUNIT_CONSOLE_VERSION"
"${MVN[@]}" -o dependency:copy -Dartifact="$ARTIFACT" -DoutputDirectory="$STAGE" >/dev/null 2>&1 \
  || "${MVN[@]}" dependency:copy -Dartifact="$ARTIFACT" -DoutputDirectory="$STAGE" >&2
[ -f "$CONSOLE" ] || { echo "package-runtime: could not fetch $ARTIFACT" >&2; exit 1; }
TEST_JARS=()
while IFS= read -r jar; do TEST_JARS+=("$jar"); done < <(ls "$ROOT"/*/target/panomni-*-tests.jar 2>/dev/null || true)
# The benchmarks ship thin: their own classes (with JMH's generated harness) and JMH's jars, on the class
# path next to panomni.jar, rather than a second fat jar that would repeat every dependency.
BENCH=$(ls "$ROOT"/bench/target/panomni-bench-*.jar 2>/dev/null | grep -v -e sources -e tests | head -1 || true)
EXTRA_JARS=()
if [ "$WITH_BENCH" = 1 ]; then
  [ -n "$BENCH" ] && [ -f "$BENCH" ] || { echo "package-runtime: --with-bench: bench jar missing (build bench first)" >&2; exit 1; }
  EXTRA_JARS+=("$BENCH")
  for a in org.openjdk.jmh:jmh-core:1.37 net.sf.jopt-simple:jopt-simple:5.0.4 org.apache.commons:commons-math3:3.6.1; do
    "${MVN[@]}" -o dependency:copy -Dartifact="$a" -DoutputDirectory="$STAGE/jmh" >/dev/null 2>&1 \
      || "${MVN[@]}" dependency:copy -Dartifact="$a" -DoutputDirectory="$STAGE/jmh" >&2
  done
fi

# The JDK modules the application and the test launcher need (jdeps), plus the Vector API (used reflectively)
# and jdk.zipfs (JUnit scans the test jars through the zip file system, which jdeps cannot see).
MODULES=$("$JAVA_HOME/bin/jdeps" --multi-release "$("$JAVA_HOME/bin/java" -XshowSettings:properties -version 2>&1 \
  | sed -n 's/.*java.specification.version = \([0-9]*\).*/\1/p')" --ignore-missing-deps --print-module-deps \
  "$APP" "$CONSOLE" "${TEST_JARS[@]}")
# jdk.jfr: Flight Recorder, so a run on a GPU host can record where its host threads go
# (-XX:StartFlightRecording; read the file with a JDK's `jfr` tool).
MODULES="$MODULES,java.base,jdk.incubator.vector,jdk.zipfs,java.xml,java.logging,jdk.jfr"
# JMH itself needs java.management and jdk.unsupported; jdeps would also pull in its optional profilers' modules
# (java.desktop, jdk.jdi, ...: +30 MB), which the benchmarks do not use.
[ ${#EXTRA_JARS[@]} -gt 0 ] && MODULES="$MODULES,java.management,jdk.unsupported"
if [ "$HEADLESS" = 1 ]; then
  MODULES=$(echo "$MODULES" | tr ',' '\n' | grep -v -x -e java.desktop -e java.sql -e jdk.jdi -e jdk.attach \
    -e java.compiler -e java.instrument | paste -sd, -)
fi
MODULES=$(echo "$MODULES" | tr ',' '\n' | sort -u | paste -sd, -)
echo "package-runtime: jlink modules: $MODULES" >&2

rm -rf "$OUT"
mkdir -p "$OUT/lib" "$OUT/test-lib" "$OUT/bin"
"$JAVA_HOME/bin/jlink" --add-modules "$MODULES" --strip-debug --no-header-files --no-man-pages \
  --compress=zip-9 --output "$OUT/runtime" 2> >(grep -v 'Using incubator modules' >&2)
# Native symbol tables are only for crash reports' stack symbolization; dropping them saves ~5 MB.
if command -v strip >/dev/null 2>&1; then
  find "$OUT/runtime/lib" -name '*.so' -exec strip --strip-unneeded {} + 2>/dev/null || true
fi
cp "$APP" "$OUT/lib/panomni.jar"
cp "$CONSOLE" "$OUT/test-lib/junit-platform-console-standalone.jar"
for jar in "${TEST_JARS[@]}"; do cp "$jar" "$OUT/test-lib/"; done
if [ "$WITH_BENCH" = 1 ]; then
  mkdir -p "$OUT/bench-lib"
  cp "$BENCH" "$OUT/bench-lib/panomni-bench.jar"
  cp "$STAGE"/jmh/*.jar "$OUT/bench-lib/"
  cat > "$OUT/bin/panomni-bench" <<'SCRIPT'
#!/usr/bin/env bash
# JMH benchmarks on the bundled runtime: bin/panomni-bench -l (list), bin/panomni-bench DowncallCost, ...
HERE="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)"
CP="$HERE/lib/panomni.jar"
for j in "$HERE"/bench-lib/*.jar; do CP="$CP:$j"; done
exec "$HERE/runtime/bin/java" --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED \
  -cp "$CP" org.openjdk.jmh.Main "$@"
SCRIPT
  chmod +x "$OUT/bin/panomni-bench"
fi

cat > "$OUT/bin/panomni" <<'SCRIPT'
#!/usr/bin/env bash
# Panomni CLI on the bundled runtime. Extra JVM options: PANOMNI_JAVA_OPTS (e.g. -Xmx64g).
HERE="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)"
exec "$HERE/runtime/bin/java" --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED \
  ${PANOMNI_JAVA_OPTS:-} -jar "$HERE/lib/panomni.jar" "$@"
SCRIPT

cat > "$OUT/bin/panomni-gpu-tests" <<'SCRIPT'
#!/usr/bin/env bash
# Runs Panomni's GPU tests (JUnit tag "gpu") from the bundled runtime and prints a summary.
#   bin/panomni-gpu-tests [--all] [--reports DIR] [extra JUnit console options...]
#     --all          run every test in the test jars, not only the GPU ones
#     --reports DIR  JUnit XML reports (default: reports/ next to bin/)
# Exit status: 0 when no test failed (skipped tests, e.g. no NCCL, do not fail the run), 1 otherwise.
set -uo pipefail
HERE="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)"
TAGS=(--include-tag gpu)
REPORTS="$HERE/reports"
EXTRA=()
while [ $# -gt 0 ]; do
  case "$1" in
    --all) TAGS=(); shift ;;
    --reports) REPORTS="$2"; shift 2 ;;
    *) EXTRA+=("$1"); shift ;;
  esac
done
CP="$HERE/lib/panomni.jar"
TESTS=""
for jar in "$HERE"/test-lib/panomni-*-tests.jar; do
  [ -f "$jar" ] || continue
  CP="$CP:$jar"
  TESTS="${TESTS:+$TESTS:}$jar"
done
if [ -z "$TESTS" ]; then echo "panomni-gpu-tests: no test jars in $HERE/test-lib" >&2; exit 1; fi
LOG="$(mktemp)"
trap 'rm -f "$LOG"' EXIT
"$HERE/runtime/bin/java" --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED ${PANOMNI_JAVA_OPTS:-} \
  -jar "$HERE/test-lib/junit-platform-console-standalone.jar" execute \
  --class-path "$CP" --scan-class-path="$TESTS" "${TAGS[@]}" --details=tree --disable-banner --disable-ansi-colors \
  --reports-dir "$REPORTS" "${EXTRA[@]}" 2>&1 | tee "$LOG"
STATUS=${PIPESTATUS[0]}
count() { sed -n "s/^\[ *\([0-9][0-9]*\) tests $1 *\].*/\1/p" "$LOG" | tail -1; }
FOUND=$(count found); OK=$(count successful); FAILED=$(count failed); ABORTED=$(count aborted); SKIPPED=$(count skipped)
echo
echo "panomni GPU tests on $(hostname): found ${FOUND:-0}, passed ${OK:-0}, failed ${FAILED:-0}," \
  "skipped $(( ${ABORTED:-0} + ${SKIPPED:-0} )) (skips name their reason above: no driver, no NCCL, ...)"
echo "JUnit XML reports: $REPORTS"
if [ "${FOUND:-0}" != 0 ] && [ "${OK:-0}" = 0 ] && [ "${FAILED:-0}" = 0 ]; then
  echo "warning: every test was skipped: run bin/panomni doctor to see what this machine lacks"
fi
if [ "${FAILED:-0}" != 0 ] || [ "$STATUS" -ne 0 ]; then exit 1; fi
exit 0
SCRIPT
chmod +x "$OUT/bin/panomni" "$OUT/bin/panomni-gpu-tests"

cat > "$OUT/README.txt" <<TEXT
Panomni runtime (built $(date -u +%Y-%m-%d) from $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?'))
  bin/panomni doctor          check the GPU setup (driver, GPUs, cuBLASLt, NVRTC, NCCL)
  bin/panomni --help          the CLI
  bin/panomni-gpu-tests       run the GPU test suite; prints passed / failed / skipped
Libraries are found as described by 'bin/panomni doctor --verbose'; override with PANOMNI_CUDA_LIB,
PANOMNI_CUBLASLT_LIB, PANOMNI_NVRTC_LIB, PANOMNI_NCCL_LIB (a file or its folder).
Runtime modules: $MODULES
TEXT

SIZE=$(du -sm "$OUT" | cut -f1)
echo "package-runtime: $OUT (${SIZE} MB): bin/panomni, bin/panomni-gpu-tests" >&2
if [ "$SIZE" -gt 60 ]; then
  echo "package-runtime: warning: ${SIZE} MB is close to the 64 MiB transfer limit of the GPU hosts" >&2
fi
