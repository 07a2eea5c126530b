#!/usr/bin/env bash
# Checks the README's Neovim install recipes in real Neovim, from a git repository of this checkout's HEAD
# (a local bare clone standing in for GitHub), in throwaway XDG directories:
#   - Neovim's own packages: clone outside start/, link editors/neovim into pack/azure-sessions/start;
#   - lazy.nvim (when LAZY_NVIM_DIR points at a lazy.nvim checkout; it is not in a package registry,
#     so this part is skipped without it): the README's spec, installed by lazy.nvim itself.
# Each opens a Python file and checks: the server attached, plugin/ sourced, the buffer commands, the
# transcript BufReadCmd, :help azure-sessions. Not part of scripts/test.sh.
#
#   AZURE_SESSIONS_LSP_BIN=target/debug/azure-sessions-lsp [NVIM=nvim] [LAZY_NVIM_DIR=...] bash editors/neovim/tests/install/install-recipes.sh
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../../../.." && pwd)"
nvim="${NVIM:-nvim}"
bin="${AZURE_SESSIONS_LSP_BIN:?set AZURE_SESSIONS_LSP_BIN to an azure-sessions-lsp binary}"
T="$(mktemp -d "${TMPDIR:-/tmp}/azs-nvim-install.XXXXXX")"
trap 'rm -rf "$T"' EXIT
export T
mkdir -p "$T/bin" "$T/work"
ln -s "$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")" "$T/bin/azure-sessions-lsp"
export PATH="$T/bin:$PATH"
printf 'x = 6 * 7\nprint(x)\n' > "$T/work/test.py"
git clone -q --bare "$repo" "$T/remote.git"
export REPO_URL="file://$T/remote.git"
status=0

echo "== pack/*/start"
P="$T/pack"
export XDG_CONFIG_HOME="$P/config" XDG_DATA_HOME="$P/data" XDG_STATE_HOME="$P/state" XDG_CACHE_HOME="$P/cache"
mkdir -p "$XDG_CONFIG_HOME/nvim"
printf "vim.lsp.config('azure_sessions', { settings = { azureSessions = { endpoint = 'local' } } })\nvim.lsp.enable('azure_sessions')\n" > "$XDG_CONFIG_HOME/nvim/init.lua"
pack="$XDG_DATA_HOME/nvim/site/pack/azure-sessions"
git clone -q "$REPO_URL" "$pack/repo"
mkdir -p "$pack/start" && ln -s ../repo/editors/neovim "$pack/start/azure-sessions"
"$nvim" --headless -c 'helptags ALL' -c q
timeout 120 "$nvim" --headless -c "luafile $here/check.lua" | tee "$T/pack.out"
grep -q '^5 passed, 0 failed$' "$T/pack.out" || status=1

if [ -n "${LAZY_NVIM_DIR:-}" ]; then
  echo "== lazy.nvim ($LAZY_NVIM_DIR)"
  L="$T/lazy"
  export XDG_CONFIG_HOME="$L/config" XDG_DATA_HOME="$L/data" XDG_STATE_HOME="$L/state" XDG_CACHE_HOME="$L/cache"
  timeout 180 "$nvim" --headless -u "$here/lazy-init.lua" -c "luafile $here/check.lua" 2>/dev/null | grep -a -E '^(PASS|FAIL|[0-9]+ passed)' | tee "$T/lazy.out"
  grep -q '^5 passed, 0 failed$' "$T/lazy.out" || status=1
else
  echo "== lazy.nvim: skipped (set LAZY_NVIM_DIR to a lazy.nvim checkout)"
fi
exit $status
