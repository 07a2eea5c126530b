//! The agent and the editor in one session: `azure-sessions-lsp mcp` goes through the language
//! server running for its folder (the agent socket), and runs alone when none runs, in the
//! session the editor picks up later.

mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use serde_json::{Value, json};

use common::lsp::{Lsp, file_uri, init_params};
use common::mcp::{Mcp, text};

/// A 1×1 PNG.
const PNG_BASE64: &str = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==";

struct Dirs {
    folder: std::path::PathBuf,
    _ws: tempfile::TempDir,
    xdg: tempfile::TempDir,
    runtime: tempfile::TempDir,
}

fn dirs() -> Dirs {
    let ws = tempfile::tempdir().unwrap();
    Dirs {
        folder: std::fs::canonicalize(ws.path()).unwrap(),
        _ws: ws,
        xdg: tempfile::tempdir().unwrap(),
        runtime: tempfile::tempdir().unwrap(),
    }
}

impl Dirs {
    fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("XDG_STATE_HOME", self.xdg.path().display().to_string()),
            ("XDG_RUNTIME_DIR", self.runtime.path().display().to_string()),
        ]
    }

    async fn editor(&self, settings: Value) -> Lsp {
        Lsp::spawn(
            &self.env(),
            &self.xdg.path().join("server.log"),
            init_params(&[&self.folder], json!({"azureSessions": settings})),
        )
        .await
    }

    fn agent(&self, extra: &[&str]) -> Mcp {
        Mcp::start_with_env(&self.folder, self.xdg.path(), extra, &self.env())
    }
}

/// Runs a blocking MCP call off the runtime's threads.
async fn call(mcp: &mut Mcp, tool: &str, arguments: Value) -> Value {
    tokio::task::block_in_place(|| mcp.call(tool, arguments))
}

async fn editor_run(lsp: &Lsp, uri: &str, text: &str) -> Value {
    lsp.open(uri, "python", text).await;
    lsp.command("azure-sessions.run", json!({"uri": uri}))
        .await
        .unwrap_or_else(|e| panic!("the editor's run failed: {e}"))
}

async fn transcript(lsp: &Lsp, output_uri: &str) -> String {
    lsp.request("azure-sessions/output", json!({"uri": output_uri}))
        .await
        .unwrap()["text"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// The headers of the transcript's runs, in order.
fn run_headers(transcript: &str) -> Vec<&str> {
    transcript
        .lines()
        .filter(|l| l.starts_with("── run "))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn variables_cross_between_the_editor_and_the_agent_in_one_transcript() {
    let dirs = dirs();
    let lsp = dirs.editor(json!({"endpoint": "local"})).await;
    let first = file_uri(&dirs.folder.join("first.py"));
    let from_editor = editor_run(&lsp, &first, "x = 41\n").await;
    let output_uri = from_editor["outputUri"].as_str().unwrap().to_owned();

    // No endpoint given to the agent: it uses the editor's settings.
    let mut mcp = dirs.agent(&[]);
    let read = call(&mut mcp, "run_code", json!({"code": "print(x + 1)"})).await;
    assert!(text(&read).contains("42"), "{read}");
    // The editor hears of the agent's run (for its Results view); of its own runs it does not.
    let heard = lsp
        .wait_for("azure-sessions/agentRun", |p| {
            p["outcome"]["stdout"] == "42\n"
        })
        .await;
    assert_eq!(heard["label"], "code from the agent", "{heard}");
    assert_eq!(heard["outcome"]["outputUri"], json!(output_uri), "{heard}");
    assert_eq!(lsp.received("azure-sessions/agentRun").len(), 1);
    let set = call(
        &mut mcp,
        "run_code",
        json!({"code": "y = 'set by the agent'"}),
    )
    .await;
    assert_eq!(set["result"]["isError"], json!(false), "{set}");

    let second = file_uri(&dirs.folder.join("second.py"));
    let back = editor_run(&lsp, &second, "print(y)\n").await;
    assert_eq!(back["stdout"], "set by the agent\n", "{back}");

    let text_now = transcript(&lsp, &output_uri).await;
    let heads = run_headers(&text_now);
    assert_eq!(heads.len(), 4, "{text_now}");
    assert!(
        heads[0].contains("first.py") && !heads[0].contains("agent"),
        "{text_now}"
    );
    assert!(heads[1].contains("· agent · code ·"), "{text_now}");
    assert!(heads[2].contains("· agent · code ·"), "{text_now}");
    assert!(
        heads[3].contains("second.py") && !heads[3].contains("agent"),
        "{text_now}"
    );
    assert!(text_now.contains("42\n"), "{text_now}");

    let info = call(&mut mcp, "session_info", json!({})).await;
    let info: Value = serde_json::from_str(&text(&info)).unwrap();
    assert_eq!(info["sharedWith"], "editor", "{info}");
    assert_eq!(
        info["identifier"],
        json!(common::workspace::identifier(&lsp, &file_uri(&dirs.folder)).await)
    );

    // An image through the editor comes back as image content.
    let image = call(
        &mut mcp,
        "run_code",
        json!({"code": format!("import base64\nclass P:\n def _repr_png_(self): return base64.b64decode('{PNG_BASE64}')\nP()")}),
    )
    .await;
    let blocks = image["result"]["content"].as_array().expect("content");
    assert!(
        blocks
            .iter()
            .any(|b| b["type"] == "image" && b["data"] == PNG_BASE64),
        "{image}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agents_failing_file_run_is_a_diagnostic_in_the_editor() {
    let dirs = dirs();
    let lsp = dirs.editor(json!({"endpoint": "local"})).await;
    let path = dirs.folder.join("broken.py");
    // The editor's buffer differs from the disk: the agent runs what the user sees.
    std::fs::write(&path, "print('on disk')\n").unwrap();
    let uri = file_uri(&path);
    lsp.open(&uri, "python", "a = 1\nb = a / 0\n").await;
    let mut mcp = dirs.agent(&[]);
    let ran = call(&mut mcp, "run_file", json!({"path": "broken.py"})).await;
    assert_eq!(ran["result"]["isError"], json!(true), "{ran}");
    assert!(text(&ran).contains("ZeroDivisionError"), "{ran}");
    assert!(text(&ran).contains("(line 2)"), "{ran}");
    let published = lsp
        .wait_for("textDocument/publishDiagnostics", |p| {
            p["uri"] == json!(uri)
                && p["diagnostics"]
                    .as_array()
                    .is_some_and(|d| d.iter().any(|d| d["severity"] == 1))
        })
        .await;
    let error = published["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["severity"] == 1)
        .unwrap()
        .clone();
    assert_eq!(error["range"]["start"]["line"], 1, "{published}");
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("ZeroDivisionError"),
        "{error}"
    );

    // Inputs are checked before anything reaches the editor.
    let outside = call(&mut mcp, "run_file", json!({"path": "../elsewhere.py"})).await;
    assert!(
        outside["error"]["message"]
            .as_str()
            .unwrap_or("")
            .contains("outside the workspace"),
        "{outside}"
    );
}

/// The local pool as a process of its own, so that two processes reach the same sessions.
struct Pool {
    child: Child,
    endpoint: String,
}

impl Drop for Pool {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn pool(runtime: &Path) -> Pool {
    let mut child = Command::new(env!("CARGO_BIN_EXE_azure-sessions-lsp"))
        .args(["pool", "--port", "0"])
        .env("XDG_RUNTIME_DIR", runtime)
        .env_remove("AZURE_SESSIONS_POOL_KEY")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    stdout.read_line(&mut first).unwrap();
    let endpoint = first
        .trim()
        .strip_prefix("listening on ")
        .expect("listening on URL")
        .to_owned();
    // Keep reading so the pool never blocks on a full pipe.
    std::thread::spawn(move || for _ in stdout.lines() {});
    Pool { child, endpoint }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_an_editor_the_agent_runs_alone_and_the_editor_picks_the_session_up() {
    let dirs = dirs();
    let pool = pool(dirs.runtime.path());
    std::fs::create_dir(dirs.folder.join(".vscode")).unwrap();
    std::fs::write(
        dirs.folder.join(".vscode/settings.json"),
        json!({"azureSessions.endpoint": pool.endpoint}).to_string(),
    )
    .unwrap();
    let mut mcp = dirs.agent(&[]);
    let alone = call(&mut mcp, "run_code", json!({"code": "z = 6 * 7"})).await;
    assert_eq!(alone["result"]["isError"], json!(false), "{alone}");
    let info = call(&mut mcp, "session_info", json!({})).await;
    assert!(text(&info).contains("no editor"), "{info}");

    // The editor starts later, with the same settings: the agent's variable is there.
    let lsp = dirs.editor(json!({"endpoint": pool.endpoint})).await;
    let uri = file_uri(&dirs.folder.join("later.py"));
    let seen = editor_run(&lsp, &uri, "print(z)\n").await;
    assert_eq!(seen["stdout"], "42\n", "{seen}");

    // The running agent now goes through the editor: its run joins the transcript.
    let next = call(&mut mcp, "run_code", json!({"code": "print(z + 1)"})).await;
    assert!(text(&next).contains("43"), "{next}");
    let text_now = transcript(&lsp, seen["outputUri"].as_str().unwrap()).await;
    let heads = run_headers(&text_now);
    assert_eq!(heads.len(), 2, "{text_now}");
    assert!(heads[1].contains("· agent ·"), "{text_now}");
    assert!(text_now.ends_with("43\n"), "{text_now}");

    // `--standalone` never goes through the editor (same session all the same).
    let mut alone = dirs.agent(&["--standalone"]);
    let info = call(&mut alone, "session_info", json!({})).await;
    assert!(text(&info).contains("no editor"), "{info}");
    let read = call(&mut alone, "run_code", json!({"code": "print(z * 2)"})).await;
    assert!(text(&read).contains("84"), "{read}");
    assert_eq!(
        run_headers(&transcript(&lsp, seen["outputUri"].as_str().unwrap()).await).len(),
        2
    );
}
