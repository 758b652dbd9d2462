#!/usr/bin/env bash
# Sets up HotSpot's disassembler so that -XX:+PrintAssembly / -XX:CompileCommand=print show the machine code C2
# makes of a kernel (which instructions a Vector API loop became, spills, boxing). Debian's libhsdis0-fcml
# (installed here with apt-get when missing; needs root) exports the old entry point `decode_instructions`;
# JDK 9 and later call `decode_instructions_virtual`, so a ten-line adapter is compiled beside it.
#   benchmarks/disassembler.sh            # builds benchmarks/target/hsdis/hsdis-amd64.so, prints how to use it
# Then, for example:
#   LD_LIBRARY_PATH=benchmarks/target/hsdis java --add-modules jdk.incubator.vector -XX:+UnlockDiagnosticVMOptions \
#     -XX:CompileCommand=print,dev.jformers.cpu.VectorKernels::gemvInt8 -cp benchmarks/target/benchmarks.jar ...
# A development tool only: nothing in the build or the tests needs it.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
OUT="$HERE/target/hsdis"
LIB=/usr/lib/x86_64-linux-gnu/libhsdis.so.0
if [ ! -e "$LIB" ]; then
  if [ "$(id -u)" != 0 ]; then echo "libhsdis0-fcml is missing: run 'apt-get install libhsdis0-fcml' as root" >&2; exit 1; fi
  apt-get install -y -q libhsdis0-fcml >/dev/null
fi
command -v cc >/dev/null || { echo "a C compiler (cc) is needed to build the adapter" >&2; exit 1; }
mkdir -p "$OUT"
cat > "$OUT/hsdis-adapter.c" <<C
#include <stdint.h>
#include <dlfcn.h>
/* HotSpot's hsdis interface since JDK 9 (decode_instructions_virtual) on top of the JDK 8 one FCML provides. */
typedef void *(*event_callback_t)(void *, const char *, void *);
typedef int (*printf_callback_t)(void *, const char *, ...);
typedef void *(*decode_t)(void *, void *, event_callback_t, void *, printf_callback_t, void *, const char *);
void *decode_instructions_virtual(uintptr_t start_va, uintptr_t end_va, unsigned char *buffer, uintptr_t length,
                                  event_callback_t event_callback, void *event_stream,
                                  printf_callback_t printf_callback, void *printf_stream,
                                  const char *options, int newline) {
  static decode_t decode;
  if (!decode) {
    void *fcml = dlopen("$LIB", RTLD_NOW);
    if (!fcml || !(decode = (decode_t) dlsym(fcml, "decode_instructions"))) return 0;
  }
  return decode(buffer, buffer + length, event_callback, event_stream, printf_callback, printf_stream, options);
}
C
cc -shared -fPIC -O2 -o "$OUT/hsdis-amd64.so" "$OUT/hsdis-adapter.c" -ldl
echo "built $OUT/hsdis-amd64.so"
echo "use: LD_LIBRARY_PATH=$OUT java -XX:+UnlockDiagnosticVMOptions -XX:CompileCommand=print,<class>::<method> ..."
