#!/usr/bin/env bash
# Builds the VS Code extension into a platform-specific VSIX with the language server bundled in server/.
#
#   editors/vscode/scripts/package.sh [--out FILE] [--target TARGET] [--no-server]
#
# The server binary comes from $AZURE_SESSIONS_LSP_BIN when set, else from `cargo build --release`
# at the repository root. --no-server packages a universal VSIX without a binary (the extension then
# finds the server through AZURE_SESSIONS_LSP_PATH, azureSessions.server.path or PATH).
# Works offline once `npm ci` has run (it runs it when node_modules is missing).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
root="$(cd "$here/../.." && pwd)"
out=""
target=""
with_server=1

while [ $# -gt 0 ]; do
  case "$1" in
    --out) out="$2"; shift 2 ;;
    --target) target="$2"; shift 2 ;;
    --no-server) with_server=0; shift ;;
    -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
    *) echo "package.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done

cd "$here"
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi

version="$(node -p 'require("./package.json").version')"
name="$(node -p 'require("./package.json").name')"

rm -rf server
if [ "$with_server" = 1 ]; then
  bin="${AZURE_SESSIONS_LSP_BIN:-}"
  if [ -z "$bin" ]; then
    echo "package.sh: cargo build --release in $root" >&2
    (cd "$root" && cargo build --release --bin azure-sessions-lsp)
    bin="$root/target/release/azure-sessions-lsp"
  fi
  if [ ! -x "$bin" ]; then
    echo "package.sh: $bin is not an executable file" >&2
    exit 1
  fi
  if ! "$bin" --version | grep -q '^azure-sessions-lsp '; then
    echo "package.sh: '$bin --version' does not print 'azure-sessions-lsp X.Y.Z'" >&2
    exit 1
  fi
  mkdir -p server
  cp "$bin" server/azure-sessions-lsp
  chmod 755 server/azure-sessions-lsp
  if [ -z "$target" ]; then
    target="$(node -p 'process.platform + "-" + process.arch')"
  fi
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
