//! The `azure-sessions-lsp` binary: `run` end to end against the local pool, exit codes,
//! `pool`'s first line, `--version`.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

fn bin() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_azure-sessions-lsp"));
    let state = std::env::temp_dir().join(format!("azs-cli-test-{}", std::process::id()));
    command
        .env("XDG_STATE_HOME", state)
        .env_remove("AZURE_SESSIONS_ENDPOINT")
        .env_remove("RUST_LOG");
    command
}

fn run_stdin(args: &[&str], code: &str) -> (i32, String, String) {
    let mut command = bin();
    command.args(args);
    run_command(command, code)
}

/// Runs a prepared command with `code` on its stdin; its exit code, stdout and stderr.
fn run_command(mut command: std::process::Command, code: &str) -> (i32, String, String) {
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(code.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn run_prints_stdout_stderr_and_result_with_exit_codes() {
    let (code, stdout, stderr) = run_stdin(
        &["run", "--endpoint", "local", "-"],
        "import sys\nprint('out')\nprint('err', file=sys.stderr)\n6 * 7\n",
    );
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(stdout, "out\n42\n");
    assert_eq!(stderr, "err\n");

    let (code, stdout, stderr) = run_stdin(
        &["run", "--endpoint", "local", "-"],
        "x = 1\nraise ValueError('bad value')\n",
    );
    assert_eq!(code, 1);
    assert_eq!(stdout, "");
    assert!(
        stderr.contains("line 2") && stderr.ends_with("ValueError: bad value\n"),
        "{stderr}"
    );

    let (code, stdout, _) = run_stdin(
        &[
            "run",
            "--endpoint",
            "local",
            "--language",
            "javascript",
            "-",
        ],
        "console.log('js'); 1 + 1",
    );
    assert_eq!(code, 0);
    assert_eq!(stdout, "js\n2\n");
}

#[test]
fn run_reads_a_file_and_uses_environment_settings() {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("s.py");
    std::fs::write(&script, "print('from a file')\n").unwrap();
    let output = bin()
        .args(["run", script.to_str().unwrap()])
        .env("AZURE_SESSIONS_ENDPOINT", "local")
        .output()
        .unwrap();
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&output.stdout), "from a file\n");
}

/// Python and Node pools refuse stdin (it is for Shell and custom pools): the run fails before
/// any request, saying why.
#[test]
fn stdin_to_a_python_pool_fails_before_any_request() {
    let output = bin()
        .args([
            "run",
            "--endpoint",
            "http://127.0.0.1:9",
            "--stdin",
            "typed",
            "-",
        ])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("stdin is taken only by Shell"), "{stderr}");
    assert!(
        !stderr.contains("could not reach"),
        "no request was made: {stderr}"
    );
}

#[test]
fn configuration_and_network_errors_exit_2_with_one_line() {
    for (args, needle) in [
        (vec!["run", "-"], "--endpoint"),
        (
            vec!["run", "--endpoint", "http://pool.example.com", "-"],
            "plain http:// is allowed only to a loopback address",
        ),
        (
            vec![
                "run",
                "--endpoint",
                "http://127.0.0.1:9",
                "--auth",
                "none",
                "--cold-start-timeout-seconds",
                "0",
                "-",
            ],
            "could not reach",
        ),
        (
            vec!["run", "--endpoint", "local", "/nonexistent/file.py"],
            "could not read",
        ),
    ] {
        let (code, _, stderr) = run_stdin(&args, "print(1)\n");
        assert_eq!(code, 2, "{args:?}: {stderr}");
        assert!(stderr.contains(needle), "{args:?}: {stderr}");
        assert_eq!(
            stderr.trim_end().lines().count(),
            1,
            "{args:?}: one line: {stderr}"
        );
    }
}

#[test]
fn pool_prints_its_address_and_key_and_run_finds_the_key_by_port() {
    let runtime = tempfile::tempdir().unwrap();
    let with_env = |command: &mut std::process::Command| {
        command.env("XDG_RUNTIME_DIR", runtime.path());
        command.env_remove("AZURE_SESSIONS_POOL_KEY");
    };
    let mut pool = bin();
    with_env(&mut pool);
    let mut child = pool
        .args(["pool", "--port", "0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let (mut first, mut second) = (String::new(), String::new());
    stdout.read_line(&mut first).unwrap();
    stdout.read_line(&mut second).unwrap();
    assert!(
        first.starts_with("listening on http://127.0.0.1:"),
        "{first}"
    );
    let key = second
        .trim()
        .strip_prefix("key: ")
        .expect("second line: key: KEY");
    assert_eq!(key.len(), 64, "256 bits as hex: {key}");
    let endpoint = first.trim().trim_start_matches("listening on ").to_owned();
    let port = endpoint.rsplit(':').next().unwrap();
    let key_file = runtime
        .path()
        .join("azure-sessions-lsp")
        .join(format!("pool-{port}.key"));
    assert_eq!(std::fs::read_to_string(&key_file).unwrap().trim(), key);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&key_file), 0o600);
        assert_eq!(mode(key_file.parent().unwrap()), 0o700);
    }

    let run = |extra_env: Option<&str>| {
        let mut command = bin();
        with_env(&mut command);
        if let Some(key) = extra_env {
            command.env("AZURE_SESSIONS_POOL_KEY", key);
        }
        command.args([
            "run",
            "--endpoint",
            &endpoint,
            "--session",
            "cli-test-1",
            "-",
        ]);
        run_command(command, "print(2 + 2)\n")
    };
    // No setting at all: the key is found by port.
    let (code, out, err) = run(None);
    assert_eq!((code, out.as_str()), (0, "4\n"), "{err}");
    // A wrong key from the environment wins over the file, and is refused.
    let (code, _, err) = run(Some("0000"));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("wants a key"), "{err}");

    // SIGTERM: the pool stops and takes its key file with it. (Windows has no SIGTERM to send
    // another process; its console-close event is not sent by tests.)
    #[cfg(unix)]
    {
        // SAFETY: kill has no memory preconditions.
        unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
        let _ = child.wait();
        assert!(
            !key_file.exists(),
            "the key file is removed when the pool stops"
        );
    }
    #[cfg(not(unix))]
    {
        let _ = child.kill();
        let _ = child.wait();
    }
}

#[test]
fn version_and_settings_schema() {
    let output = bin().arg("--version").output().unwrap();
    assert_eq!(
        String::from_utf8_lossy(&output.stdout).trim(),
        format!("azure-sessions-lsp {}", env!("CARGO_PKG_VERSION"))
    );
    let output = bin().arg("settings-schema").output().unwrap();
    let schema: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(schema["timeoutSeconds"]["default"], 220);
    assert_eq!(
        schema["api"]["enum"],
        serde_json::json!(["executions", "legacy", "custom"])
    );
}
