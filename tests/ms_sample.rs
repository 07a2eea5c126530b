//! The client against Microsoft's own custom-container sample (issue 13 item 10): the Flask
//! server of Azure-Samples/dynamic-sessions-custom-container, unchanged, in
//! `tests/fixtures/ms-custom-container`, used as a user would with `--api custom --custom-path
//! execute`. Flask comes from PyPI into `target/test-venv` on first use.

mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;

use common::workspace::workspace;

/// The sample server on a loopback port; killed when dropped.
struct Sample {
    child: Child,
    url: String,
}

impl Drop for Sample {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn sample() -> Sample {
    let serve =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/ms-custom-container/serve.py");
    let mut child = Command::new(common::pyvenv::python_with_packages())
        .arg(serve)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the sample server");
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    let url = first
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("the sample did not start: {first:?}"))
        .to_owned();
    Sample { child, url }
}

/// `run --api custom --custom-path execute` against the sample: exit code, stdout, stderr.
fn run(sample: &Sample, language: &str, timeout_seconds: u32, code: &str) -> (i32, String, String) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join(if language == "python" {
        "main.py"
    } else {
        "main.js"
    });
    std::fs::write(&file, code).unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_azure-sessions-lsp"))
        .args(["run", "--endpoint", &sample.url, "--api", "custom"])
        .args(["--custom-path", "execute", "--auth", "none"])
        .args(["--language", language])
        .args(["--timeout-seconds", &timeout_seconds.to_string()])
        .arg(&file)
        .env("XDG_STATE_HOME", dir.path().join("state"))
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// The sample repeats stdout as `executionResult`: it is printed once, not twice.
#[test]
fn output_is_printed_once() {
    let sample = sample();
    let (code, stdout, stderr) = run(&sample, "python", 30, "print('hello from the sample')\n");
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(stdout, "hello from the sample\n");
}

/// The sample runs Python unless told `properties.language`: a JavaScript file runs under Node.
#[test]
fn javascript_runs_as_javascript() {
    let sample = sample();
    let (code, stdout, stderr) = run(
        &sample,
        "javascript",
        30,
        "console.log(typeof process.versions.node)\n",
    );
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(stdout, "string\n");
}

/// The sample kills runs at 30 s unless told `properties.timeoutInSeconds`: a 2 s limit ends a
/// 20 s run after about 2 s, with the sample's own message.
#[test]
fn the_timeout_reaches_the_sample() {
    let sample = sample();
    let started = Instant::now();
    let (code, stdout, stderr) = run(
        &sample,
        "python",
        2,
        "import time\ntime.sleep(20)\nprint('late')\n",
    );
    let took = started.elapsed();
    assert_ne!(code, 0, "{stdout}");
    assert!(!stdout.contains("late"), "{stdout}");
    assert!(
        took < Duration::from_secs(10),
        "took {took:?}: the sample used its own 30 s"
    );
    assert!(stderr.contains("timed out"), "{stderr}");
}

/// A traceback from the sample (`python -c`, so `File "<string>"`) puts the error on its line in
/// the editor.
#[tokio::test]
async fn an_error_lands_on_its_line_in_the_editor() {
    let sample = sample();
    let ws = workspace();
    let options = json!({"azureSessions": {
        "endpoint": sample.url, "api": "custom", "customPath": "execute", "auth": "none",
    }});
    let lsp = ws.start(options).await;
    let uri = ws.uri("main.py");
    lsp.open(&uri, "python", "x = 1\ny = 2\nraise ValueError('boom')\n")
        .await;
    let ran = lsp
        .command("azure-sessions.run", json!({"uri": uri}))
        .await
        .unwrap();
    assert_eq!(ran["status"], "Failed", "{ran}");
    assert_eq!(ran["error"]["line"], 2, "{ran}");
    assert!(
        ran["error"]["message"]
            .as_str()
            .unwrap_or("")
            .contains("boom"),
        "{ran}"
    );
    let diagnostics = lsp
        .wait_for("textDocument/publishDiagnostics", |p| p["uri"] == uri)
        .await;
    assert_eq!(
        diagnostics["diagnostics"][0]["range"]["start"]["line"], 2,
        "{diagnostics}"
    );
}
