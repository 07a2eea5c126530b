#!/usr/bin/env bash
# Builds the platform-specific VSIXs of the VS Code extension, one per target whose server binary exists,
# each with its own azure-sessions-lsp bundled, and checks what each VSIX holds.
#
#   bash scripts/package-vsix.sh [--targets T,T,...|all] [--bin-dir DIR] [--out-dir DIR] [--require-all] [--print-targets]
#
# Targets (VS Code name → Rust target that builds its server):
#   linux-x64 → x86_64-unknown-linux-gnu        linux-arm64 → aarch64-unknown-linux-gnu
#   alpine-x64 → x86_64-unknown-linux-musl      win32-x64 → x86_64-pc-windows-msvc or x86_64-pc-windows-gnu
#   win32-arm64 → aarch64-pc-windows-msvc       darwin-x64 → x86_64-apple-darwin
#   darwin-arm64 → aarch64-apple-darwin
# For a target with Rust target TRIPLE, the binary (azure-sessions-lsp, .exe for Windows) is looked up in
# --bin-dir (default: the repository's target/) as TRIPLE/release/NAME (cargo's layout), TRIPLE/NAME (the
# release workflow's layout), azure-sessions-lsp-TRIPLE[.exe] (release asset names), and for this machine's
# own triple release/NAME (a plain `cargo build --release`). A target without a binary is skipped, with
# the paths tried. Each VSIX (azure-sessions-TARGET-VERSION.vsix in --out-dir, default target/vsix) is
# checked: extension/server/NAME and server/target.json are in it, and the bundled binary's header says
# it is built for that target (plus file(1)'s word on it, where file is installed).
# Exit status 1 when a VSIX could not be built or failed its check, or (with --require-all) when a target
# was skipped; the last line is "N passed, N failed" (VSIXs built and checked / not).
set -uo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ext="$root/editors/vscode"

all_targets=(linux-x64 linux-arm64 alpine-x64 win32-x64 win32-arm64 darwin-x64 darwin-arm64)
triples_for() {
  case "$1" in
    linux-x64) echo x86_64-unknown-linux-gnu ;;
    linux-arm64) echo aarch64-unknown-linux-gnu ;;
    alpine-x64) echo x86_64-unknown-linux-musl ;;
    win32-x64) echo x86_64-pc-windows-msvc x86_64-pc-windows-gnu ;;
    win32-arm64) echo aarch64-pc-windows-msvc ;;
    darwin-x64) echo x86_64-apple-darwin ;;
    darwin-arm64) echo aarch64-apple-darwin ;;
    *) return 1 ;;
  esac
}

targets=("${all_targets[@]}")
bin_dir="$root/target"
out_dir=""
require_all=0
while [ $# -gt 0 ]; do
  case "$1" in
    --targets)
      if [ "$2" != all ]; then IFS=, read -r -a targets <<<"$2"; fi
      shift 2 ;;
    --bin-dir) bin_dir="$(cd "$2" && pwd)" || exit 2; shift 2 ;;
    --out-dir) out_dir="$2"; shift 2 ;;
    --require-all) require_all=1; shift ;;
    --print-targets)
      for t in "${all_targets[@]}"; do echo "$t $(triples_for "$t")"; done
      exit 0 ;;
    -h|--help) sed -n '2,22p' "$0"; exit 0 ;;
    *) echo "package-vsix.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
out_dir="${out_dir:-$root/target/vsix}"
mkdir -p "$out_dir"
out_dir="$(cd "$out_dir" && pwd)"

for t in "${targets[@]}"; do
  triples_for "$t" >/dev/null || { echo "package-vsix.sh: unknown target $t (known: ${all_targets[*]})" >&2; exit 2; }
done

host_triple="$(rustc -vV 2>/dev/null | sed -n 's/^host: //p')"
version="$(node -p "require('$ext/package.json').version")"
name="$(node -p "require('$ext/package.json').name")"

# package.sh leaves the last target's binary in editors/vscode/server/: remove it, so that a development
# host of the extension does not find a foreign binary there.
trap 'rm -rf "$ext/server"' EXIT

built=()
skipped=()
failed=()

for t in "${targets[@]}"; do
  exe=azure-sessions-lsp
  case "$t" in win32-*) exe=azure-sessions-lsp.exe ;; esac
  bin=""
  bin_triple=""
  tried=()
  for triple in $(triples_for "$t"); do
    candidates=("$bin_dir/$triple/release/$exe" "$bin_dir/$triple/$exe" "$bin_dir/azure-sessions-lsp-$triple${exe#azure-sessions-lsp}")
    if [ "$triple" = "$host_triple" ]; then
      candidates+=("$bin_dir/release/$exe")
    fi
    for c in "${candidates[@]}"; do
      tried+=("$c")
      if [ -f "$c" ]; then
        bin="$c"
        bin_triple="$triple"
        break 2
      fi
    done
  done
  if [ -z "$bin" ]; then
    skipped+=("$t: no server binary (tried ${tried[*]})")
    echo "SKIP $t: no server binary for $(triples_for "$t" | sed 's/ / or /') in $bin_dir"
    continue
  fi

  vsix="$out_dir/$name-$t-$version.vsix"
  log="$out_dir/$name-$t.log"
  echo "---- $t: $bin"
  if ! bash "$ext/scripts/package.sh" --target "$t" --bin "$bin" --rust-target "$bin_triple" --out "$vsix" >"$log" 2>&1; then
    tail -n 20 "$log" | sed 's/^/    /'
    failed+=("$t: vsce package failed (log: $log)")
    echo "FAIL $t: vsce package failed (log: $log)"
    continue
  fi

  # What the VSIX holds: the server where the extension looks for it, built for this target.
  check="$(mktemp -d)"
  problem=""
  listing="$(unzip -l "$vsix")" || problem="unzip -l failed"
  if [ -z "$problem" ] && ! grep -q " extension/server/$exe\$" <<<"$listing"; then
    problem="no extension/server/$exe in the VSIX"
  fi
  if [ -z "$problem" ] && ! grep -q ' extension/server/target.json$' <<<"$listing"; then
    problem="no extension/server/target.json in the VSIX"
  fi
  if [ -z "$problem" ]; then
    unzip -q -o "$vsix" "extension/server/$exe" "extension/server/target.json" "extension.vsixmanifest" -d "$check"
    header="$(node "$ext/scripts/binary-target.mjs" "$check/extension/server/$exe" "$t" 2>&1)" || problem="$header"
    marker="$(cat "$check/extension/server/target.json")"
    grep -q "\"target\":\"$t\"" <<<"$marker" || problem="${problem:+$problem; }server/target.json says $marker"
    grep -q "TargetPlatform=\"$t\"" "$check/extension.vsixmanifest" || problem="${problem:+$problem; }the manifest's TargetPlatform is not $t"
    echo "    $(sed "s#$check/##" <<<"$header")"
    if command -v file >/dev/null; then
      echo "    file: $(file -b "$check/extension/server/$exe")"
    fi
    echo "    server/target.json: $marker; size $(du -h "$vsix" | cut -f1)"
  fi
  rm -rf "$check"
  if [ -n "$problem" ]; then
    failed+=("$t: $problem")
    echo "FAIL $t: $problem"
  else
    built+=("$vsix")
    echo "PASS $t: $vsix"
  fi
done

echo
echo "built and checked: ${#built[@]}"
for b in "${built[@]}"; do echo "  $b"; done
if [ ${#skipped[@]} -gt 0 ]; then
  echo "skipped (no server binary): ${#skipped[@]}"
  for s in "${skipped[@]}"; do echo "  $s"; done
fi
if [ ${#failed[@]} -gt 0 ]; then
  echo "failed: ${#failed[@]}"
  for f in "${failed[@]}"; do echo "  $f"; done
fi
bad=${#failed[@]}
if [ $require_all = 1 ]; then
  bad=$((bad + ${#skipped[@]}))
fi
echo "${#built[@]} passed, $bad failed"
[ "$bad" -eq 0 ]
