//! What every fault case shares: the environment (state dir, fake `az`, logs), rows of the
//! report, and the checks.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::common::lsp::*;
use crate::common::misbehaving::{Fault, MisbehavingPool};

pub const TOKEN: &str = "fault-s3cret-t0ken-4f1d9c";

pub struct Row {
    pub case: String,
    pub user_sees: String,
    pub survived: bool,
    pub lost: bool,
    pub twice: bool,
    pub failure: Option<String>,
}

/// A row of the report's Security section: what an attacker tried, what happened, what must.
pub struct Attack {
    pub attack: String,
    pub happened: String,
    pub expected: String,
    /// Why the attack worked, if it did.
    pub failure: Option<String>,
}

impl Attack {
    pub fn new(attack: &str, happened: String, expected: &str, failure: Option<String>) -> Attack {
        Attack {
            attack: attack.to_owned(),
            happened,
            expected: expected.to_owned(),
            failure,
        }
    }

    /// Also fails when a secret showed up (see [`secrets_leaked`]).
    pub fn with_leak_check(mut self, leak: Option<String>) -> Attack {
        if self.failure.is_none() {
            self.failure = leak;
        }
        self
    }
}

pub struct Env {
    pub _dir: tempfile::TempDir,
    pub state: PathBuf,
    pub folder: PathBuf,
    pub bin_dir: PathBuf,
    pub logs: PathBuf,
}

pub fn environment() -> Env {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let folder = dir.path().join("project");
    let bin_dir = dir.path().join("bin");
    let logs = dir.path().join("logs");
    for d in [&state, &folder, &bin_dir, &logs] {
        std::fs::create_dir_all(d).unwrap();
    }
    // A fake `az` whose token must never show up anywhere.
    let az = format!(
        "#!/bin/sh\necho call >> '{}'\nprintf '{{\"accessToken\":\"{TOKEN}\",\"expires_on\":%s,\"tokenType\":\"Bearer\"}}' $(( $(date +%s) + 3600 ))\n",
        bin_dir.join("az-calls").display()
    );
    std::fs::write(bin_dir.join("az"), az).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(bin_dir.join("az"), std::fs::Permissions::from_mode(0o755)).unwrap();
    Env {
        _dir: dir,
        state,
        folder,
        bin_dir,
        logs,
    }
}

impl Env {
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("RUST_LOG", "trace".to_owned()),
            ("XDG_STATE_HOME", self.state.display().to_string()),
            (
                "PATH",
                format!(
                    "{}:{}",
                    self.bin_dir.display(),
                    std::env::var("PATH").unwrap_or_default()
                ),
            ),
        ]
    }

    pub fn az_calls(&self) -> usize {
        std::fs::read_to_string(self.bin_dir.join("az-calls"))
            .map(|t| t.lines().count())
            .unwrap_or(0)
    }

    pub async fn server(&self, name: &str, settings: Value) -> Lsp {
        let log = self.logs.join(format!(
            "{}.log",
            name.replace(|c: char| !c.is_ascii_alphanumeric(), "_")
        ));
        Lsp::spawn(
            &self.env(),
            &log,
            init_params(&[&self.folder], json!({ "azureSessions": settings })),
        )
        .await
    }
}

pub fn pool_settings(pool: &MisbehavingPool, extra: Value) -> Value {
    // The pools speak https with a test CA: tokens go only over https.
    let mut settings = json!({"endpoint": pool.endpoint(), "auth": "azure-cli", "prewarm": false, "timeoutSeconds": 1, "coldStartTimeoutSeconds": 3, "extraCaCertificates": [pool.ca_file]});
    if let (Some(base), Some(extra)) = (settings.as_object_mut(), extra.as_object()) {
        base.extend(extra.clone());
    }
    settings
}

pub fn summary(result: &Result<Value, Value>) -> String {
    match result {
        Ok(outcome) => {
            let stdout = outcome["stdout"].as_str().unwrap_or("");
            let shown = if stdout.len() > 80 {
                let note = stdout
                    .lines()
                    .find(|l| l.starts_with("[…"))
                    .or_else(|| stdout.lines().last())
                    .unwrap_or("");
                format!("{} bytes of stdout; {}", stdout.len(), note)
            } else {
                stdout.trim().to_owned()
            };
            match outcome.get("error") {
                Some(error) => format!(
                    "{} ({}: {}); stdout: {}",
                    outcome["status"].as_str().unwrap_or("?"),
                    error["type"].as_str().unwrap_or("?"),
                    error["message"]
                        .as_str()
                        .unwrap_or("")
                        .chars()
                        .take(100)
                        .collect::<String>(),
                    if shown.is_empty() {
                        "none".to_owned()
                    } else {
                        shown
                    }
                ),
                None => format!("{}: {}", outcome["status"].as_str().unwrap_or("?"), shown),
            }
        }
        Err(error) => format!(
            "error {}: {}",
            error["code"],
            error["message"].as_str().unwrap_or("")
        ),
    }
}

/// One pool fault: a run that meets it, then a run that must work on the same server.
pub async fn pool_case(
    env: &Env,
    case: &str,
    plan: impl Fn(usize, Duration) -> Fault + Send + Sync + 'static,
    extra: Value,
    expect: impl Fn(&Result<Value, Value>) -> Result<(), String>,
    expected_executions: usize,
) -> Row {
    // The server's own timeout ends every case; the harness waits longer than it, so that a slow
    // machine shows as a slow row, not as a harness that gave up first.
    let run_timeout = extra
        .get("timeoutSeconds")
        .and_then(Value::as_u64)
        .unwrap_or(1);
    let wait = WAIT.max(Duration::from_secs(run_timeout + 30));
    let pool = MisbehavingPool::start_https(plan).await;
    let pool_age = Instant::now();
    let recovers_late = extra.get("coldStartTimeoutSeconds").is_some();
    let mut lsp = env.server(case, pool_settings(&pool, extra)).await;
    let uri = file_uri(&env.folder.join("main.py"));
    lsp.open(&uri, "python", "print('first')\nprint('second')\n")
        .await;
    let started = Instant::now();
    let (_, rx) = lsp
        .start_request(
            "workspace/executeCommand",
            json!({"command": "azure-sessions.run", "arguments": [{"uri": uri, "range": {"start": {"line": 0, "character": 0}, "end": {"line": 0, "character": 0}}}]}),
        )
        .await;
    let first = answer(rx, wait).await;
    let elapsed = started.elapsed();
    eprintln!("[faults] {case}: first run answered in {elapsed:.2?}");
    let mut failure = expect(&first).err();
    let executed_by_first = pool.executed();
    let twice = executed_by_first > expected_executions;
    if executed_by_first != expected_executions && failure.is_none() {
        failure = Some(format!(
            "the pool ran the code {executed_by_first} times, expected {expected_executions}"
        ));
    }
    // The next run on the same server works (the pools answer normally after the fault, at
    // the latest 4 s after they started).
    if let Some(wait) = Duration::from_secs(4).checked_sub(pool_age.elapsed())
        && recovers_late
    {
        tokio::time::sleep(wait).await;
    }
    let second = lsp.command("azure-sessions.run", json!({"uri": uri, "range": {"start": {"line": 1, "character": 0}, "end": {"line": 1, "character": 0}}})).await;
    let survived = lsp.alive() && second.as_ref().is_ok_and(|o| o["status"] == "Succeeded");
    if !survived && failure.is_none() {
        failure = Some(format!("the next run did not work: {}", summary(&second)));
    }
    // Nothing lost: the transcript records what happened to the first run.
    let info = lsp
        .command("azure-sessions.sessionInfo", json!({"uri": uri}))
        .await
        .unwrap_or_default();
    let transcript = lsp
        .request("azure-sessions/output", json!({"uri": info["outputUri"]}))
        .await
        .unwrap_or_default();
    let text = transcript["text"].as_str().unwrap_or("");
    let lost = !(text.contains("line 1 of main.py") || text.contains("main.py line 1"));
    if lost && failure.is_none() {
        failure = Some("the transcript has no record of the run".to_owned());
    }
    let mut user_sees = summary(&first);
    if user_sees.len() > 260 {
        user_sees = format!("{}…", user_sees.chars().take(260).collect::<String>());
    }
    Row {
        case: format!("{case} ({:.1} s)", elapsed.as_secs_f64()),
        user_sees,
        survived,
        lost,
        twice,
        failure: failure.or_else(|| secrets_leaked(env, &lsp)),
    }
}

/// Whether the fake token shows in the server's stderr or in anything it sent.
pub fn secrets_leaked(env: &Env, lsp: &Lsp) -> Option<String> {
    if lsp.transcript_of_messages().contains(TOKEN) {
        return Some("the token appeared in a message to the editor".to_owned());
    }
    for entry in std::fs::read_dir(&env.logs).unwrap() {
        let path = entry.unwrap().path();
        if std::fs::read_to_string(&path)
            .unwrap_or_default()
            .contains(TOKEN)
        {
            return Some(format!(
                "the token appeared in the server's stderr ({})",
                path.display()
            ));
        }
    }
    None
}

pub fn succeeded(r: &Result<Value, Value>) -> Result<(), String> {
    match r {
        Ok(o) if o["status"] == "Succeeded" => Ok(()),
        other => Err(format!("expected success, got {}", summary(other))),
    }
}

pub fn error_saying(
    needles: &'static [&'static str],
) -> impl Fn(&Result<Value, Value>) -> Result<(), String> {
    move |r| match r {
        Err(e)
            if needles
                .iter()
                .all(|n| e["message"].as_str().unwrap_or("").contains(n)) =>
        {
            Ok(())
        }
        other => Err(format!(
            "expected an error saying {needles:?}, got {}",
            summary(other)
        )),
    }
}

pub fn refuse_then_ok(status: u16, times: usize) -> impl Fn(usize, Duration) -> Fault {
    move |n, _| {
        if n < times {
            Fault::refuse(status)
        } else {
            Fault::Ok("ok".into())
        }
    }
}

pub fn rss_kib(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

pub fn row(case: &str, user_sees: String, survived: bool, failure: Option<String>) -> Row {
    Row {
        case: case.to_owned(),
        user_sees,
        survived,
        lost: false,
        twice: false,
        failure,
    }
}

pub async fn wait_exit(lsp: &mut Lsp, limit: Duration) -> Option<i32> {
    let child = lsp.child.as_mut()?;
    match tokio::time::timeout(limit, child.wait()).await {
        Ok(Ok(status)) => Some(status.code().unwrap_or(-1)),
        _ => None,
    }
}

pub async fn transcript_text(lsp: &Lsp, uri: &str) -> String {
    let info = lsp
        .command("azure-sessions.sessionInfo", json!({"uri": uri}))
        .await
        .unwrap_or_default();
    lsp.request("azure-sessions/output", json!({"uri": info["outputUri"]}))
        .await
        .unwrap_or_default()["text"]
        .as_str()
        .unwrap_or("")
        .to_owned()
}
