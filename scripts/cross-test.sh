#!/usr/bin/env bash
# Cross-builds the Rust test suite for other platforms and runs it under emulation:
#   windows  x86_64-pc-windows-gnu    (Debian's mingw-w64; run under wine)
#   aarch64  aarch64-unknown-linux-gnu (Debian's gcc-aarch64-linux-gnu; run under qemu-user)
# The suites run are the unit tests (--lib) and the client, language-server (lsp) and CLI
# integration tests. Tests that need a program of the target platform that this machine cannot
# provide (Windows builds of Python, Node.js, bash or sh under wine) are not run: they are
# passed to the harness as --skip filters, listed below with the reason, and counted as
# "not run", never as passed.
#
# Usage: bash scripts/cross-test.sh [windows] [aarch64]     (both when none is named)
# Needs root for apt-get (run as CI does). Prints one summary line per target and the totals as
# "N passed, M failed" (with the not-run count beside them); exits non-zero when a test failed or
# a build failed.
set -uo pipefail
cd "$(dirname "$0")/.."

targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(windows aarch64)
export CARGO_INCREMENTAL=0
SUITES=(--lib --test client --test lsp --test cli)
LOG_DIR=target/cross-test
mkdir -p "$LOG_DIR"

apt_install() {
  local missing=()
  for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ -z "${APT_UPDATED:-}" ]; then apt-get update -qq; APT_UPDATED=1; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >/dev/null
}

# Tests that cannot run under wine, and why (exact names; each is passed as --skip NAME --exact).
# All of them run code on the built-in local pool, which starts the target's own `python`,
# `node` or `bash` (Windows builds of them are not installed in the wine prefix), or check a
# Python snippet with `python3`.
WINDOWS_SKIPS=(
  # lib
  server::variables::tests::the_python_snippet_is_valid_python
  # cli
  pool_prints_its_address_and_key_and_run_finds_the_key_by_port
  run_prints_stdout_stderr_and_result_with_exit_codes
  run_reads_a_file_and_uses_environment_settings
  # lsp
  runs::a_timed_out_run_is_reported_and_the_recycled_session_noted
  errors::an_error_lands_on_the_failing_line_far_down_a_file_and_inside_a_function
  data::a_matplotlib_plot_and_a_pandas_table_come_back_as_displays
  displays::inline_values_are_inlay_hints_until_the_code_is_edited
  displays::the_local_pool_gives_rich_reprs_without_any_plotting_library
  doctor::the_doctor_command_checks_the_pool_of_a_document_or_the_folder
  earlier_runs::a_timeout_keeps_its_stderr_and_the_next_run_gets_one_note
  earlier_runs::errors_land_on_this_runs_lines_not_on_code_of_earlier_runs
  sessions::files_round_trip_through_the_session
  setup::initialization_payloads_of_real_editors_work
  marks::diagnostics_are_replaced_by_a_new_run_and_dropped_on_edit
  marks::deleting_a_runs_lines_removes_its_lens_and_hover
  marks::diagnostics_follow_lines_inserted_and_deleted_above_them
  marks::one_line_runs_of_an_indented_line_and_their_lens_rerun_work
  notebook::javascript_sessions_list_their_globals
  notebook::variables_are_listed_without_a_trace_and_the_session_exports_as_a_valid_notebook
  runs::runs_selection_line_cell_and_file_against_the_local_pool
  shell::shell_scripts_run_on_the_local_shell_pool_with_errors_on_their_lines
  runs::state_persists_between_runs_and_code_actions_lenses_and_hover_offer_runs
)
# Under qemu-user every instruction is emulated (10-50 times slower): tests that assert a
# wall-clock bound cannot hold there, whatever the code does.
AARCH64_SKIPS=(
  # lsp: 20 runs of 100 ms in two sessions must take < 1.8 s (took 4.35 s under qemu)
  sessions::sessions_run_in_parallel_while_each_keeps_its_order
)

declare -A RESULT

run_target() {
  local name=$1 triple runner skips=()
  case $name in
    windows)
      triple=x86_64-pc-windows-gnu
      apt_install gcc-mingw-w64-x86-64 wine wine64
      export CARGO_TARGET_X86_64_PC_WINDOWS_GNU_LINKER=x86_64-w64-mingw32-gcc
      export CARGO_TARGET_X86_64_PC_WINDOWS_GNU_RUNNER=wine
      export WINEDEBUG=-all WINEPREFIX="$PWD/target/cross-test/wineprefix"
      skips=("${WINDOWS_SKIPS[@]}")
      # A fresh prefix; wine 8 (Debian 12) lacks bcryptprimitives.dll, from which Rust's std
      # (1.78+) takes random bytes: a stand-in built from scripts/wine/ goes into the prefix.
      if [ ! -d "$WINEPREFIX/drive_c/windows/system32" ]; then
        mkdir -p "$WINEPREFIX"
        wine cmd /c exit >/dev/null 2>&1 || true
      fi
      local dll="$WINEPREFIX/drive_c/windows/system32/bcryptprimitives.dll"
      if [ ! -e "$dll" ]; then
        x86_64-w64-mingw32-gcc -shared -O2 -o "$dll" scripts/wine/bcryptprimitives.c \
          scripts/wine/bcryptprimitives.def -ladvapi32
      fi
      ;;
    aarch64)
      triple=aarch64-unknown-linux-gnu
      apt_install gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user qemu-user-static binfmt-support
      # The tests start the server binary, an aarch64 program: the kernel needs binfmt_misc
      # to hand it to qemu (the test harness itself runs under the runner below).
      if [ ! -e /proc/sys/fs/binfmt_misc/register ]; then
        mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc 2>/dev/null || true
      fi
      update-binfmts --enable qemu-aarch64 >/dev/null 2>&1 || true
      export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc
      export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUNNER="qemu-aarch64 -L /usr/aarch64-linux-gnu"
      export QEMU_LD_PREFIX=/usr/aarch64-linux-gnu
      skips=("${AARCH64_SKIPS[@]}")
      ;;
    *) echo "unknown target $name (windows or aarch64)" >&2; return 2 ;;
  esac
  if ! rustup target list --installed | grep -qx "$triple"; then
    rustup target add "$triple" || { RESULT[$name]="build: rustup could not add $triple"; return 1; }
  fi
  local started=$SECONDS log="$LOG_DIR/$name.log"
  echo "== $name ($triple): building" >&2
  if ! cargo test --no-run --target "$triple" "${SUITES[@]}" >"$log.build" 2>&1; then
    tail -20 "$log.build" >&2
    RESULT[$name]="build failed (see $log.build)"
    return 1
  fi
  local built=$((SECONDS - started))
  echo "== $name: running (built in ${built}s)" >&2
  local skip_args=()
  for s in "${skips[@]}"; do skip_args+=(--skip "$s"); done
  [ ${#skip_args[@]} -gt 0 ] && skip_args+=(--exact)
  cargo test --target "$triple" --no-fail-fast "${SUITES[@]}" -- "${skip_args[@]}" >"$log" 2>&1
  local passed failed ignored filtered
  passed=$(grep -Eo '[0-9]+ passed' "$log" | awk '{s+=$1} END {print s+0}')
  failed=$(grep -Eo '[0-9]+ failed' "$log" | awk '{s+=$1} END {print s+0}')
  ignored=$(grep -Eo '[0-9]+ ignored' "$log" | awk '{s+=$1} END {print s+0}')
  filtered=$(grep -Eo '[0-9]+ filtered out' "$log" | awk '{s+=$1} END {print s+0}')
  local crashed
  crashed=$(grep -c 'process didn.t exit successfully' "$log" || true)
  RESULT[$name]="$passed passed / $failed failed / $((filtered + ignored)) not run (listed in this script with the reason) / $((SECONDS - started))s (build ${built}s)"
  grep -E '^test .* FAILED$|^    [a-z_:]+$' "$log" | sed "s/^/  [$name] /" >&2 || true
  TOTAL_PASSED=$((TOTAL_PASSED + passed))
  TOTAL_FAILED=$((TOTAL_FAILED + failed + crashed))
  TOTAL_NOT_RUN=$((TOTAL_NOT_RUN + filtered + ignored))
}

TOTAL_PASSED=0 TOTAL_FAILED=0 TOTAL_NOT_RUN=0 BUILD_FAILED=0
for t in "${targets[@]}"; do
  run_target "$t" || BUILD_FAILED=1
done
echo
echo "cross-test summary:"
for t in "${targets[@]}"; do
  echo "  $t: ${RESULT[$t]:-not attempted}"
done
echo "not run: $TOTAL_NOT_RUN"
echo "$TOTAL_PASSED passed, $TOTAL_FAILED failed"
[ "$TOTAL_FAILED" -eq 0 ] && [ "$BUILD_FAILED" -eq 0 ]
