#!/usr/bin/env bash
# Builds release binaries of azure-sessions-lsp for other platforms on an x86_64 Debian machine,
# into target/<triple>/release/. Targets (all when none is named):
#   x86_64-pc-windows-gnu       Debian's mingw-w64
#   aarch64-unknown-linux-gnu   Debian's gcc-aarch64-linux-gnu
#   x86_64-unknown-linux-musl   static, Debian's musl-tools
#   aarch64-apple-darwin x86_64-apple-darwin   cargo zigbuild (zig from PyPI's ziglang)
# Prints one line per target: built (with the binary's size and `file` type) or failed (with
# the last error lines). Exits non-zero when a target failed.
# Usage: bash scripts/cross-build.sh [TRIPLE ...]
set -uo pipefail
cd "$(dirname "$0")/.."
export CARGO_INCREMENTAL=0
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(x86_64-pc-windows-gnu aarch64-unknown-linux-gnu \
  x86_64-unknown-linux-musl aarch64-apple-darwin x86_64-apple-darwin)

apt_install() {
  local missing=()
  for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >/dev/null
}

status=0
declare -A RESULT
for triple in "${targets[@]}"; do
  rustup target list --installed | grep -qx "$triple" || rustup target add "$triple" >/dev/null
  build=(cargo build --release --target "$triple" --bin azure-sessions-lsp)
  exe=azure-sessions-lsp
  case $triple in
    x86_64-pc-windows-gnu)
      apt_install gcc-mingw-w64-x86-64
      export CARGO_TARGET_X86_64_PC_WINDOWS_GNU_LINKER=x86_64-w64-mingw32-gcc
      exe=azure-sessions-lsp.exe ;;
    aarch64-unknown-linux-gnu)
      apt_install gcc-aarch64-linux-gnu libc6-dev-arm64-cross
      export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc ;;
    x86_64-unknown-linux-musl)
      apt_install musl-tools
      export CC_x86_64_unknown_linux_musl=musl-gcc ;;
    *-apple-darwin)
      python3 -m ziglang version >/dev/null 2>&1 || pip install -q ziglang
      command -v cargo-zigbuild >/dev/null || cargo install -q cargo-zigbuild
      build=(cargo zigbuild --release --target "$triple" --bin azure-sessions-lsp) ;;
  esac
  log=target/cross-build-$triple.log
  started=$SECONDS
  if "${build[@]}" >"$log" 2>&1; then
    bin=target/$triple/release/$exe
    RESULT[$triple]="built in $((SECONDS - started))s: $bin ($(du -h "$bin" | cut -f1), $(file -b "$bin" | cut -c1-80))"
  else
    RESULT[$triple]="FAILED after $((SECONDS - started))s: $(grep -E '^(error|  = note)' "$log" | head -3 | tr '\n' ' ' | cut -c1-400) (log: $log)"
    status=1
  fi
  echo "$triple: ${RESULT[$triple]}"
done
exit $status
