#!/usr/bin/env bash
# Builds the VS Code extension into a platform-specific VSIX with the language server bundled in server/.
#
#   editors/vscode/scripts/package.sh [--out FILE] [--target TARGET] [--bin FILE] [--rust-target TRIPLE] [--no-server]
#
# The server binary is --bin FILE, else $AZURE_SESSIONS_LSP_BIN, else `cargo build --release` at the
# repository root. TARGET is a `vsce package --target` name (linux-x64, linux-arm64, alpine-x64, win32-x64,
# win32-arm64, darwin-x64, darwin-arm64); without it, the target the binary is built for (read from its
# header by scripts/binary-target.mjs). The binary must be built for TARGET: it goes to
# server/azure-sessions-lsp (server/azure-sessions-lsp.exe for win32-*), with server/target.json naming
# TARGET (and TRIPLE), which the extension checks against the machine. Its --version is run when this
# machine can run it. --no-server packages a universal VSIX without a binary (the extension then finds
# the server through AZURE_SESSIONS_LSP_PATH, azureSessions.server.path or PATH).
# All targets at once: scripts/package-vsix.sh at the repository root.
# Works offline once `npm ci` has run (it runs it when node_modules is missing).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
root="$(cd "$here/../.." && pwd)"
out=""
target=""
rust_target=""
bin="${AZURE_SESSIONS_LSP_BIN:-}"
with_server=1

while [ $# -gt 0 ]; do
  case "$1" in
    --out) out="$2"; shift 2 ;;
    --target) target="$2"; shift 2 ;;
    --bin) bin="$2"; shift 2 ;;
    --rust-target) rust_target="$2"; shift 2 ;;
    --no-server) with_server=0; shift ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    *) echo "package.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done

cd "$here"
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi

version="$(node -p 'require("./package.json").version')"
name="$(node -p 'require("./package.json").name')"

# This machine as a VSIX target (alpine-x64 on musl Linux), as src/platform.ts tells it.
host_target="$(node -p 'const h = process.report.getReport().header; (process.platform === "linux" && typeof h.glibcVersionRuntime !== "string" ? "alpine" : process.platform) + "-" + process.arch')"

rm -rf server
if [ "$with_server" = 1 ]; then
  if [ -z "$bin" ]; then
    echo "package.sh: cargo build --release in $root" >&2
    (cd "$root" && cargo build --release --bin azure-sessions-lsp)
    bin="$root/target/release/azure-sessions-lsp"
  fi
  if [ ! -f "$bin" ]; then
    echo "package.sh: $bin is not a file" >&2
    exit 1
  fi
  built_for="$(node scripts/binary-target.mjs "$bin" | sed -n 's/^.*: \([a-z0-9-]*\) (.*$/\1/p')"
  if [ -z "$target" ]; then
    target="$built_for"
  fi
  if [ "$built_for" != "$target" ]; then
    node scripts/binary-target.mjs "$bin" >&2 || true
    echo "package.sh: $bin is built for ${built_for:-an unknown target}, not $target" >&2
    exit 1
  fi
  # The static musl build also runs on x64 glibc Linux.
  if [ "$target" = "$host_target" ] || { [ "$target" = alpine-x64 ] && [ "$host_target" = linux-x64 ]; }; then
    if ! "$bin" --version | grep -q '^azure-sessions-lsp '; then
      echo "package.sh: '$bin --version' does not print 'azure-sessions-lsp X.Y.Z'" >&2
      exit 1
    fi
  else
    echo "package.sh: $bin is built for $target; this machine ($host_target) does not run it, its header was checked" >&2
  fi
  case "$target" in
    win32-*) dest=server/azure-sessions-lsp.exe ;;
    *) dest=server/azure-sessions-lsp ;;
  esac
  mkdir -p server
  cp "$bin" "$dest"
  chmod 755 "$dest"
  TARGET="$target" RUST_TARGET="$rust_target" node -e '
    const marker = { target: process.env.TARGET };
    if (process.env.RUST_TARGET) marker.rustTarget = process.env.RUST_TARGET;
    require("fs").writeFileSync("server/target.json", JSON.stringify(marker) + "\n");'
fi

target_args=()
if [ -n "$target" ]; then
  target_args=(--target "$target")
fi
if [ -z "$out" ]; then
  out="$here/${name}-${target:-universal}-${version}.vsix"
fi

# vsce runs the vscode:prepublish script (the production esbuild bundle). Dependencies are bundled.
npx --no-install vsce package --no-dependencies "${target_args[@]}" --out "$out"
echo "$out"
