#!/usr/bin/env bash
# Copies the shared libraries that an rbpe build links (and the dynamic
# loader resolves outside libc) into DIR, for tools/gpu-check.sh on a
# machine that lacks them.   usage: tools/gpu-libs.sh BUILDDIR DIR
set -eu
mkdir -p "$2"
ldd "$1/tools/rbpe" | awk '$3 ~ /^\// {print $3}' |
  grep -Ev '/(libc|libm|libstdc\+\+|libgcc_s|libz)\.so' |
  while read -r f; do cp -L "$f" "$2/"; done
ls "$2"
