//! What the rows share: settings, workspaces, the reqwest reference client and the LangChain
//! peer (`benches/langchain_peer.py`).

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::process::Command;

use crate::lsp::{Lsp, Profile, file_uri};
use crate::{API_VERSION, Ctx};

pub fn settings(endpoint: &str) -> Value {
    json!({"endpoint": endpoint, "auth": "none"})
}

/// `settings` on this api (`executions`, `legacy`, `custom`), with `extra` merged in.
pub fn settings_with(endpoint: &str, extra: &Value, api: &str) -> Value {
    let mut settings = settings(endpoint);
    settings["api"] = json!(api);
    if let (Some(object), Some(extra)) = (settings.as_object_mut(), extra.as_object()) {
        for (key, value) in extra {
            object.insert(key.clone(), value.clone());
        }
    }
    settings
}

/// A workspace of one file, `main.py`, in a temporary folder.
pub struct OneFile {
    pub folders: [PathBuf; 1],
    pub uri: String,
    pub text: String,
    _dir: tempfile::TempDir,
}

impl OneFile {
    pub fn new(name: &str, text: &str) -> OneFile {
        let dir = tempfile::tempdir().expect("temp");
        let (folder, uri) = workspace(dir.path(), name, text);
        OneFile {
            folders: [folder],
            uri,
            text: text.to_owned(),
            _dir: dir,
        }
    }

    /// A server for an editor-like client with these settings and the file open.
    pub async fn editor(&self, ctx: &Ctx, settings: Value) -> Lsp {
        let lsp = Lsp::spawn(&ctx.bin, Profile::Editor, settings, &self.folders).await;
        lsp.open(&self.uri, &self.text).await;
        lsp
    }
}

/// A workspace folder holding `main.py` with these lines; returns (folder, uri).
pub fn workspace(parent: &Path, name: &str, text: &str) -> (PathBuf, String) {
    let folder = parent.join(name);
    std::fs::create_dir_all(&folder).expect("folder");
    let file = folder.join("main.py");
    std::fs::write(&file, text).expect("file");
    (folder, file_uri(&file))
}

pub fn executions_url(endpoint: &str, identifier: &str) -> String {
    format!("{endpoint}/executions?api-version={API_VERSION}&identifier={identifier}")
}

/// The body the server sends for a one-line run (see `execute_body` in src/sessions/client.rs).
pub fn executions_body(code: &str) -> Value {
    json!({"codeInputType": "Inline", "executionType": "Synchronous", "code": code,
           "timeoutInSeconds": 220, "outputStreamsMaxLength": 1 << 20})
}

/// The reference client: reqwest with keep-alive, never through a proxy.
pub fn reqwest_client(builder: reqwest::ClientBuilder) -> reqwest::Client {
    builder.no_proxy().build().expect("reqwest client")
}

pub async fn reqwest_once(client: &reqwest::Client, url: &str, body: &Value) -> Value {
    reqwest_once_as(client, url, body, "bench-fixed-token").await
}

/// With this bearer token (the local pool's key for the local pool).
pub async fn reqwest_once_as(
    client: &reqwest::Client,
    url: &str,
    body: &Value,
    token: &str,
) -> Value {
    let response = client
        .post(url)
        .header("authorization", format!("Bearer {token}"))
        .json(body)
        .send()
        .await
        .expect("the fake pool answers");
    assert!(response.status().is_success());
    let bytes = response.bytes().await.expect("body");
    serde_json::from_slice(&bytes).expect("json")
}

pub fn check_outcome(outcome: &Result<Value, Value>, stdout: &str) {
    match outcome {
        Ok(o) => assert_eq!(o["stdout"], stdout, "unexpected outcome {o}"),
        Err(e) => panic!("the run failed: {e}"),
    }
}

/// Runs `benches/langchain_peer.py` (LangChain's tool against `endpoint`); `None` without
/// `BENCH_PYTHON`.
pub async fn langchain(
    ctx: &Ctx,
    endpoint: &str,
    (runs, warmup): (usize, usize),
    env: &[(&str, &str)],
    extra_args: &[String],
) -> Option<Value> {
    let python = ctx.python.as_ref()?;
    let script = ctx.root.join("benches/langchain_peer.py");
    let mut command = Command::new(python);
    command
        .arg(&script)
        .arg(endpoint)
        .arg(runs.to_string())
        .arg(warmup.to_string())
        .args(extra_args)
        .env("NO_PROXY", "127.0.0.1,localhost")
        .env("no_proxy", "127.0.0.1,localhost")
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let output = tokio::time::timeout(Duration::from_secs(240), command.output())
        .await
        .expect("the LangChain peer finishes within 240 s")
        .expect("python runs");
    if !output.status.success() {
        panic!(
            "LangChain peer failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Some(serde_json::from_slice(&output.stdout).expect("peer JSON"))
}

/// Microseconds in `result[key]` as durations.
pub fn samples_us(result: &Value, key: &str) -> Vec<Duration> {
    result[key]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(Value::as_f64)
                .map(|us| Duration::from_secs_f64(us / 1e6))
                .collect()
        })
        .unwrap_or_default()
}

pub fn langchain_skipped(ctx: &mut Ctx, section: &'static str, goal: &str) {
    ctx.report.row(
        section,
        "LangChain SessionsPythonREPLTool",
        "skipped",
        "skipped",
        "",
        "",
        goal,
        "not run: BENCH_PYTHON unset (use scripts/bench.sh)",
    );
}
