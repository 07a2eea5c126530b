#!/usr/bin/env bash
# All tests of the VS Code extension, from a fresh machine or an already prepared one:
#
#   editors/vscode/scripts/test.sh [--no-e2e] [--no-fake-e2e]
#
# Installs what it needs, idempotently: Debian packages (chromium, libkrb5-dev, fonts-liberation, ripgrep, unzip),
# the extension's npm dependencies (npm ci) and code-server 4.100.3 + playwright-core (npm ci in e2e/).
# Then: type-check, lint, bundle, unit tests, server build, settings sync with the server, vsce package,
# the per-platform packaging (scripts/package-vsix.sh, with stand-in binaries),
# the end-to-end test against a stand-in server (extension only), and the end-to-end test in code-server
# with the real azure-sessions-lsp bundled in the VSIX against the local pool.
# Set AZURE_SESSIONS_LSP_BIN to use an existing server binary instead of `cargo build`.
# Prints one line per step and, last, "N passed, N failed". Exit status 1 when anything failed.
set -uo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
root="$(cd "$here/../.." && pwd)"
run_e2e=1
run_fake_e2e=1
for a in "$@"; do
  case "$a" in
    --no-e2e) run_e2e=0; run_fake_e2e=0 ;;
    --no-fake-e2e) run_fake_e2e=0 ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    *) echo "test.sh: unknown argument $a" >&2; exit 2 ;;
  esac
done

passed=0
failed=0
failures=()
logdir="$(mktemp -d "${TMPDIR:-/tmp}/azs-vscode-test.XXXXXX")"

# step NAME COMMAND...: runs the command with its output in a log, prints PASS/FAIL and the log's tail on failure.
step() {
  local name="$1"; shift
  local log="$logdir/$(echo "$name" | tr -c 'A-Za-z0-9' '_').log"
  local start=$SECONDS
  if "$@" >"$log" 2>&1; then
    passed=$((passed + 1))
    echo "PASS $name ($((SECONDS - start)) s)"
    grep -E '^(e2e: )?[0-9]+ passed, [0-9]+ failed$|^ℹ (pass|fail) ' "$log" | tr '\n' ' ' | sed -e 's/^./    &/' -e 's/ $/\n/'
  else
    failed=$((failed + 1))
    failures+=("$name")
    echo "FAIL $name ($((SECONDS - start)) s) — log: $log"
    tail -n 40 "$log" | sed 's/^/    /'
  fi
}

# ---------------------------------------------------------------- installs (idempotent)

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else return 1; fi
}

install_debian_packages() {
  local missing=()
  command -v chromium >/dev/null || [ -x /usr/bin/chromium ] || missing+=(chromium)
  dpkg -s libkrb5-dev >/dev/null 2>&1 || missing+=(libkrb5-dev)
  dpkg -s fonts-liberation >/dev/null 2>&1 || missing+=(fonts-liberation)
  command -v rg >/dev/null || missing+=(ripgrep)
  command -v unzip >/dev/null || missing+=(unzip)
  if [ ${#missing[@]} -eq 0 ]; then
    echo "Debian packages already installed"
    return 0
  fi
  echo "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  as_root apt-get install -y --no-install-recommends "${missing[@]}" \
    || { as_root apt-get update && as_root apt-get install -y --no-install-recommends "${missing[@]}"; }
}

npm_ci_if_needed() { # DIR [env...]
  local dir="$1"; shift
  if [ -f "$dir/node_modules/.package-lock.json" ] && [ ! "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]; then
    echo "$dir/node_modules is up to date"
    return 0
  fi
  (cd "$dir" && env "$@" npm ci --no-audit --no-fund)
}

install_extension_deps() {
  npm_ci_if_needed "$here"
}

install_e2e_deps() {
  local major
  major="$(node -p 'process.versions.node.split(".")[0]')"
  if [ "$major" != 20 ]; then
    echo "code-server 4.100.3 needs node 20; this is node $(node --version)"
    return 1
  fi
  if [ -x "$here/e2e/node_modules/.bin/code-server" ] && [ ! "$here/e2e/package-lock.json" -nt "$here/e2e/node_modules/.package-lock.json" ]; then
    echo "code-server and playwright-core already installed"
    return 0
  fi
  # @vscode/ripgrep 1.15.11 (inside code-server 4.100.3) downloads rg at install time: seed its cache
  # with Debian's rg instead, so that the install works offline.
  local cache="${TMPDIR:-/tmp}/vscode-ripgrep-cache-1.15.11"
  mkdir -p "$cache"
  tar czf "$cache/ripgrep-v13.0.0-10-x86_64-unknown-linux-musl.tar.gz" -C "$(dirname "$(command -v rg)")" rg
  # code-server's postinstall runs `npm install` in lib/vscode, whose native modules need their
  # install scripts: npm 11 blocks dependency scripts unless allowed, so allow them for this install.
  npm_ci_if_needed "$here/e2e" npm_config_unsafe_perm=true npm_config_yes=true npm_config_nodedir=/usr \
    npm_config_dangerously_allow_all_scripts=true
}

step "install Debian packages (chromium, libkrb5-dev, fonts-liberation, ripgrep, unzip)" install_debian_packages
step "install extension dependencies (npm ci)" install_extension_deps
if [ $run_e2e = 1 ]; then
  step "install code-server 4.100.3 and playwright-core (e2e/npm ci)" install_e2e_deps
fi

# ---------------------------------------------------------------- static checks and unit tests

cd "$here"
step "type-check (tsc --noEmit)" npx --no-install tsc --noEmit
step "lint (eslint)" npx --no-install eslint .
step "bundle (esbuild)" node esbuild.mjs --production
step "unit tests (manifest, helpers, server choice by platform, languages, results view)" node --test --test-reporter=spec test/package-json.test.mjs test/util.test.mjs test/server-locator.test.mjs test/platform.test.mjs test/languages.test.mjs test/results.test.mjs

# ---------------------------------------------------------------- the server

server_bin="${AZURE_SESSIONS_LSP_BIN:-}"
build_server() {
  (cd "$root" && cargo build --bin azure-sessions-lsp) || return 1
  check_version "$root/target/debug/azure-sessions-lsp"
}
check_version() {
  local out
  out="$("$1" --version)" || return 1
  echo "$1 --version: $out"
  echo "$out" | grep -q '^azure-sessions-lsp [0-9]' || { echo "expected 'azure-sessions-lsp X.Y.Z'"; return 1; }
}
if [ -z "$server_bin" ]; then
  step "server builds (cargo build) and prints --version" build_server
  server_bin="$root/target/debug/azure-sessions-lsp"
else
  step "server $server_bin prints --version" check_version "$server_bin"
fi
server_ok=0
if [ -x "$server_bin" ] && "$server_bin" --version 2>/dev/null | grep -q '^azure-sessions-lsp '; then
  server_ok=1
fi

step "settings in package.json match 'azure-sessions-lsp settings-schema'" \
  env AZURE_SESSIONS_LSP_PATH="$server_bin" node --test --test-reporter=spec test/settings-schema.test.mjs

# ---------------------------------------------------------------- packaging

vsix_dir="$logdir/vsix"
mkdir -p "$vsix_dir"
universal_vsix="$vsix_dir/azure-sessions-universal.vsix"
bundled_vsix="$vsix_dir/azure-sessions-bundled.vsix"
step "vsce package (universal, no server)" bash scripts/package.sh --no-server --out "$universal_vsix"
check_bundled_vsix() {
  AZURE_SESSIONS_LSP_BIN="$server_bin" bash scripts/package.sh --out "$bundled_vsix" || return 1
  local listing
  listing="$(unzip -l "$bundled_vsix")" || return 1
  echo "$listing"
  grep -q 'extension/server/azure-sessions-lsp$' <<<"$listing" && grep -q 'extension/dist/extension.js$' <<<"$listing"
}
if [ $server_ok = 1 ]; then
  step "vsce package --target $(node -p 'process.platform + "-" + process.arch') with the server bundled" check_bundled_vsix
else
  step "vsce package with the server bundled" sh -c "echo 'no working azure-sessions-lsp binary at $server_bin (see the server step)'; exit 1"
fi

step "scripts/package-vsix.sh: a VSIX per target with its own binary (stand-in binaries), skips and refusals" \
  node --test --test-reporter=spec test/package-vsix.test.mjs

# ---------------------------------------------------------------- end to end (code-server + headless Chromium)

if [ $run_fake_e2e = 1 ]; then
  step "e2e in code-server with a stand-in server (extension only)" \
    env AZURE_SESSIONS_LSP_PATH="$here/e2e/fake-server.mjs" timeout 270 node e2e/run.mjs --vsix "$universal_vsix" --screenshot vscode-e2e-stand-in.png
fi
if [ $run_e2e = 1 ]; then
  if [ $server_ok = 1 ] && [ -f "$bundled_vsix" ]; then
    step "e2e in code-server with azure-sessions-lsp bundled in the VSIX, local pool" \
      env -u AZURE_SESSIONS_LSP_PATH timeout 270 node e2e/run.mjs --vsix "$bundled_vsix" --screenshot vscode-e2e.png
  else
    step "e2e in code-server with azure-sessions-lsp bundled in the VSIX, local pool" \
      sh -c "echo 'needs a working azure-sessions-lsp and the bundled VSIX (see the steps above)'; exit 1"
  fi
fi

echo
if [ $failed -gt 0 ]; then
  echo "failed steps:"
  printf '  - %s\n' "${failures[@]}"
fi
if [ $failed -gt 0 ]; then
  echo "logs: $logdir"
else
  rm -rf "$logdir" # the logs and the packaged VSIX files (the debug server makes them large)
fi
echo "$passed passed, $failed failed"
[ $failed -eq 0 ]
