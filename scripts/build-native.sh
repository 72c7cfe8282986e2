#!/usr/bin/env bash
# Build the native helpers: dist/bin/aloft-kickstart and dist/bin/aloft-launcher
# (agents/kickstart/{kickstart,launcher}.c, sharing ks-common.h).
# Without a C compiler this prints a notice and succeeds: the process executor then runs
# jobs directly and samples /proc for resource usage (no orphan protection, coarser numbers).
# The binary is compiled to a temporary name and renamed, so a concurrent build or a
# running test never sees a half-written executable.
set -euo pipefail
cd "$(dirname "$0")/.."

# The generated protobuf code (proto/generated, plain JS + .d.ts made by gen-proto.sh) is not
# compiled by tsc: copy it beside the compiled proto/ so dist/proto/codec can import it.
mkdir -p dist/proto/generated
cp proto/generated/aloft.js proto/generated/aloft.d.ts dist/proto/generated/

cc_bin="${CC:-cc}"

if ! command -v "$cc_bin" >/dev/null 2>&1; then
  echo "build-native: no C compiler ($cc_bin) found; skipping dist/bin (jobs run without kickstart)" >&2
  exit 0
fi

mkdir -p dist/bin
for prog in kickstart launcher; do
  src="agents/kickstart/$prog.c"
  out="dist/bin/aloft-$prog"
  tmp="$(mktemp "$out.XXXXXX")"
  trap 'rm -f "$tmp"' EXIT
  "$cc_bin" -O2 -Wall -Wextra -Werror -std=c11 -o "$tmp" "$src"
  chmod 0755 "$tmp"
  mv -f "$tmp" "$out"
  trap - EXIT
done
