#!/usr/bin/env bash
# Runs the binding generator (tools/, libclang through FFM) on allow-lists, writing bindings/src/main/java.
#   tools/scripts/bindgen.sh tools/bindgen/cuda.allow                 # regenerate the CUDA driver bindings
#   tools/scripts/bindgen.sh --check tools/bindgen/*.allow            # compare, exit 1 on any difference
#   tools/scripts/bindgen.sh --include /work/headers/nccl/include tools/bindgen/nccl.allow
# Header folders: each allow-list's 'include' lines, after --include DIR and $PANOMNI_BINDGEN_INCLUDE (':'-separated).
# libclang: tools/scripts/install-libclang.sh installs it; PANOMNI_LIBCLANG_LIB=/path/libclang.so.1 overrides.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
if [ -z "${JAVA_HOME:-}" ] || [ ! -x "$JAVA_HOME/bin/java" ]; then
  for d in /usr/lib/jvm/temurin-25-jdk-amd64 /usr/lib/jvm/*; do
    if [ -x "$d/bin/javac" ] && "$d/bin/java" -version 2>&1 | grep -qE 'version "(2[2-9]|[3-9][0-9])'; then
      export JAVA_HOME="$d"; break
    fi
  done
fi
./mvnw -q -o -pl tools -am compile >&2 || ./mvnw -q -pl tools -am compile >&2
exec "$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED \
  -cp "tools/target/classes:bindings/target/classes" dev.panomni.tools.bindgen.BindgenMain "$@"
