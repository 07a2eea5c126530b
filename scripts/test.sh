#!/usr/bin/env bash
# Every test of the project: formatting, lints, Rust tests (unit, client, local pool, language
# server), the end-to-end tests in real Neovim and real VS Code, and actionlint on the release and CI
# workflows. Installs what it needs.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

failed=()
step() {
  local name=$1
  shift
  echo
  echo "=== $name"
  local started=$SECONDS
  if "$@"; then
    echo "=== $name: ok ($((SECONDS - started)) s)"
  else
    echo "=== $name: FAILED ($((SECONDS - started)) s)"
    failed+=("$name")
  fi
}

rust_tests() {
  if cargo nextest --version >/dev/null 2>&1; then
    cargo nextest run --no-fail-fast
  else
    cargo test --no-fail-fast
  fi
}

step "cargo fmt --check" cargo fmt --check
step "actionlint (.github/workflows)" bash scripts/actionlint.sh
step "cargo clippy" cargo clippy --all-targets -- -D warnings
step "cargo build" cargo build
step "rust tests" rust_tests
export AZURE_SESSIONS_LSP_BIN="$root/target/debug/azure-sessions-lsp"
step "neovim e2e" bash editors/neovim/tests/run.sh
if [ -f editors/vscode/scripts/test.sh ]; then
  step "vscode extension and e2e" bash editors/vscode/scripts/test.sh
fi

echo
if [ ${#failed[@]} -eq 0 ]; then
  echo "all test steps passed"
else
  echo "failed steps: ${failed[*]}"
  exit 1
fi
