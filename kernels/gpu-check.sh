#!/usr/bin/env bash
# Runs the CUDA backend's GPU tests (JUnit tag "gpu", package dev.panomni.kernels) from the packaged jars and
# prints a passed / failed / skipped summary. Needs no Maven and no network on the GPU host.
#
#   On a machine with Maven (this checkout):   ./mvnw -q -pl kernels -am package -DskipTests
#   Then, on the GPU host (the same tree):      kernels/gpu-check.sh [--all] [--sync] [--reports DIR] [JUnit options...]
#     --all          every kernels test, not only the GPU ones (PtxFreshnessTest then needs nvcc and the sources)
#     --sync         set the debug switch panomni.cuda.sync (synchronize after each launch, name the failing kernel)
#     --reports DIR  JUnit XML reports (default kernels/target/gpu-check/reports)
#   Java: $JAVA_HOME, else dist/panomni-runtime/runtime (tools/scripts/package-runtime.sh), else java on PATH (22+).
#   The runtime image's bin/panomni-gpu-tests runs the same tests too (with every module's GPU tests).
# Exit status: 0 when no test failed (skipped tests do not fail the run), 1 otherwise.
set -uo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
TARGET="$HERE/target"
TAGS=(--include-tag gpu)
REPORTS="$TARGET/gpu-check/reports"
JVM_EXTRA=()
EXTRA=()
while [ $# -gt 0 ]; do
  case "$1" in
    --all) TAGS=(); shift ;;
    --sync) JVM_EXTRA+=(-Dpanomni.cuda.sync=true); shift ;;
    --reports) REPORTS="$2"; shift 2 ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    *) EXTRA+=("$1"); shift ;;
  esac
done

JAVA=""
for candidate in "${JAVA_HOME:+$JAVA_HOME/bin/java}" "$ROOT/dist/panomni-runtime/runtime/bin/java" "$(command -v java || true)"; do
  [ -n "$candidate" ] && [ -x "$candidate" ] || continue
  if "$candidate" -version 2>&1 | grep -qE 'version "(2[2-9]|[3-9][0-9])'; then JAVA="$candidate"; break; fi
done
[ -n "$JAVA" ] || { echo "gpu-check: need Java 22+ (set JAVA_HOME, or build the runtime image)" >&2; exit 1; }

MAIN=$(ls "$TARGET"/panomni-kernels-*.jar 2>/dev/null | grep -v -e '-tests.jar' -e '-sources.jar' | head -1)
TESTS=$(ls "$TARGET"/panomni-kernels-*-tests.jar 2>/dev/null | head -1)
CONSOLE="$TARGET/gpu-check/junit-platform-console-standalone.jar"
for f in "$MAIN" "$TESTS" "$CONSOLE"; do
  if [ -z "$f" ] || [ ! -f "$f" ]; then
    echo "gpu-check: missing ${f:-the kernels jars}: run ./mvnw -q -pl kernels -am package -DskipTests first" >&2
    exit 1
  fi
done
CP="$MAIN:$TESTS"
for jar in "$TARGET"/gpu-check/lib/*.jar; do CP="$CP:$jar"; done

LOG="$(mktemp)"
trap 'rm -f "$LOG"' EXIT
echo "gpu-check: $("$JAVA" -version 2>&1 | head -1); $(command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | head -1)"
"$JAVA" --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED "${JVM_EXTRA[@]}" ${PANOMNI_JAVA_OPTS:-} \
  -jar "$CONSOLE" execute --class-path "$CP" --select-package dev.panomni.kernels "${TAGS[@]}" \
  --details=tree --disable-banner --reports-dir "$REPORTS" "${EXTRA[@]}" 2>&1 | tee "$LOG"
STATUS=${PIPESTATUS[0]}
count() { sed -n "s/^\[ *\([0-9][0-9]*\) tests $1 *\].*/\1/p" "$LOG" | tail -1; }
FOUND=$(count found); OK=$(count successful); FAILED=$(count failed); ABORTED=$(count aborted); SKIPPED=$(count skipped)
echo
echo "gpu-check (kernels) on $(hostname): found ${FOUND:-0}, passed ${OK:-0}, failed ${FAILED:-0}," \
  "skipped $(( ${ABORTED:-0} + ${SKIPPED:-0} )) (each skip printed its reason: 'SKIPPED GPU test: ...')"
echo "JUnit XML reports: $REPORTS"
if [ "${FAILED:-0}" != 0 ] || [ "$STATUS" -ne 0 ]; then exit 1; fi
exit 0
