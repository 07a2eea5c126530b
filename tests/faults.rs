//! The fault-injection suite: the real binary, at RUST_LOG=trace, against a misbehaving pool and
//! bad editor input. Every case must leave the server up, lose nothing, run nothing twice, say
//! what happened, and never show the token. It writes docs/reliability.md from what it saw.

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::lsp::*;
use common::misbehaving::{Fault, MisbehavingPool};
use serde_json::{Value, json};

const TOKEN: &str = "fault-s3cret-t0ken-4f1d9c";

struct Row {
    case: String,
    user_sees: String,
    survived: bool,
    lost: bool,
    twice: bool,
    failure: Option<String>,
}

struct Env {
    _dir: tempfile::TempDir,
    state: PathBuf,
    folder: PathBuf,
    bin_dir: PathBuf,
    logs: PathBuf,
}

fn environment() -> Env {
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
    fn env(&self) -> Vec<(&'static str, String)> {
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

    fn az_calls(&self) -> usize {
        std::fs::read_to_string(self.bin_dir.join("az-calls"))
            .map(|t| t.lines().count())
            .unwrap_or(0)
    }

    async fn server(&self, name: &str, settings: Value) -> Lsp {
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

fn pool_settings(pool: &MisbehavingPool, extra: Value) -> Value {
    let mut settings = json!({"endpoint": pool.endpoint(), "auth": "azure-cli", "prewarm": false, "timeoutSeconds": 1, "coldStartTimeoutSeconds": 3});
    if let (Some(base), Some(extra)) = (settings.as_object_mut(), extra.as_object()) {
        base.extend(extra.clone());
    }
    settings
}

fn summary(result: &Result<Value, Value>) -> String {
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
async fn pool_case(
    env: &Env,
    case: &str,
    plan: impl Fn(usize, Duration) -> Fault + Send + Sync + 'static,
    extra: Value,
    expect: impl Fn(&Result<Value, Value>) -> Result<(), String>,
    expected_executions: usize,
) -> Row {
    let pool = MisbehavingPool::start(plan).await;
    let pool_age = Instant::now();
    let recovers_late = extra.get("coldStartTimeoutSeconds").is_some();
    let mut lsp = env.server(case, pool_settings(&pool, extra)).await;
    let uri = file_uri(&env.folder.join("main.py"));
    lsp.open(&uri, "python", "print('first')\nprint('second')\n")
        .await;
    let started = Instant::now();
    let first = lsp.command("azure-sessions.run", json!({"uri": uri, "range": {"start": {"line": 0, "character": 0}, "end": {"line": 0, "character": 0}}})).await;
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
fn secrets_leaked(env: &Env, lsp: &Lsp) -> Option<String> {
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

fn succeeded(r: &Result<Value, Value>) -> Result<(), String> {
    match r {
        Ok(o) if o["status"] == "Succeeded" => Ok(()),
        other => Err(format!("expected success, got {}", summary(other))),
    }
}

fn error_saying(
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

fn refuse_then_ok(status: u16, times: usize) -> impl Fn(usize, Duration) -> Fault {
    move |n, _| {
        if n < times {
            Fault::refuse(status)
        } else {
            Fault::Ok("ok".into())
        }
    }
}

fn rss_kib(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fault_suite() {
    let env = environment();
    let mut rows = Vec::new();

    // ── The pool misbehaves ──
    rows.push(
        pool_case(
            &env,
            "502 for the first 3 requests (cold start)",
            refuse_then_ok(502, 3),
            json!({}),
            succeeded,
            1,
        )
        .await,
    );
    rows.push(
        pool_case(
            &env,
            "503 for the first 1.5 s (cold start)",
            |_, since| {
                if since < Duration::from_millis(1500) {
                    Fault::refuse(503)
                } else {
                    Fault::Ok("ok".into())
                }
            },
            json!({}),
            succeeded,
            1,
        )
        .await,
    );
    rows.push(
        pool_case(
            &env,
            "503 with Retry-After: 1",
            |n, _| {
                if n == 0 {
                    Fault::Refuse {
                        status: 503,
                        headers: vec![("retry-after".into(), "1".into())],
                        body: String::new(),
                    }
                } else {
                    Fault::Ok("ok".into())
                }
            },
            json!({}),
            succeeded,
            1,
        )
        .await,
    );
    rows.push(
        pool_case(
            &env,
            "504 past coldStartTimeoutSeconds",
            |_, since| {
                if since < Duration::from_secs(4) {
                    Fault::refuse(504)
                } else {
                    Fault::Ok("ok".into())
                }
            },
            json!({"coldStartTimeoutSeconds": 1}),
            error_saying(&["did not become ready", "504", "coldStartTimeoutSeconds"]),
            0,
        )
        .await,
    );
    // The next run of the previous case needs the pool to recover: it does after 4 s, and the
    // second run retries until then within its budget only if the budget allows; give it time.
    rows.push(
        pool_case(
            &env,
            "429 twice (pool busy)",
            refuse_then_ok(429, 2),
            json!({}),
            succeeded,
            1,
        )
        .await,
    );
    rows.push(
        pool_case(
            &env,
            "429 past coldStartTimeoutSeconds",
            |_, since| {
                if since < Duration::from_secs(2) {
                    Fault::refuse(429)
                } else {
                    Fault::Ok("ok".into())
                }
            },
            json!({"coldStartTimeoutSeconds": 1}),
            error_saying(&["429", "busy"]),
            0,
        )
        .await,
    );
    rows.push(
        pool_case(
            &env,
            "500 (never retried)",
            |n, _| {
                if n == 0 {
                    Fault::ServerError
                } else {
                    Fault::Ok("ok".into())
                }
            },
            json!({}),
            error_saying(&["HTTP 500", "InternalServerError"]),
            1,
        )
        .await,
    );
    let calls_before = env.az_calls();
    rows.push(
        pool_case(
            &env,
            "401 then 200 (token refreshed once)",
            refuse_then_ok(401, 1),
            json!({}),
            succeeded,
            1,
        )
        .await,
    );
    let refreshed = env.az_calls() - calls_before;
    if refreshed != 2 {
        rows.last_mut().unwrap().failure = Some(format!(
            "expected two token fetches (first, then after the 401), got {refreshed}"
        ));
    }
    rows.push(
        pool_case(
            &env,
            "401 always",
            refuse_then_ok(401, 2),
            json!({}),
            error_saying(&["401", "az login"]),
            0,
        )
        .await,
    );
    rows.push(
        pool_case(
            &env,
            "403",
            refuse_then_ok(403, 1),
            json!({}),
            error_saying(&["403", "Azure ContainerApps Session Executor"]),
            0,
        )
        .await,
    );
    rows.push(
        pool_case(
            &env,
            "404",
            refuse_then_ok(404, 1),
            json!({}),
            error_saying(&["404", "azureSessions.endpoint"]),
            0,
        )
        .await,
    );
    rows.push(
        pool_case(
            &env,
            "502 HTML page from a gateway, past the budget",
            |_, since| {
                if since < Duration::from_secs(2) {
                    Fault::Refuse {
                        status: 502,
                        headers: vec![("content-type".into(), "text/html".into())],
                        body: "<html><head><title>502 Bad Gateway</title></head><body><center>nginx</center></body></html>".into(),
                    }
                } else {
                    Fault::Ok("ok".into())
                }
            },
            json!({"coldStartTimeoutSeconds": 1}),
            error_saying(&["502 Bad Gateway", "did not become ready"]),
            0,
        )
        .await,
    );
    rows.push(
        pool_case(
            &env,
            "an error body that echoes the token",
            |n, _| {
                if n == 0 {
                    Fault::Refuse { status: 400, headers: vec![], body: format!(r#"{{"error":{{"code":"BadThing","message":"rejected Authorization: Bearer {TOKEN} for you"}}}}"#) }
                } else {
                    Fault::Ok("ok".into())
                }
            },
            json!({}),
            error_saying(&["400 BadThing", "Bearer [redacted]"]),
            0,
        )
        .await,
    );
    rows.push(
        pool_case(
            &env,
            "connection reset mid-answer",
            |n, _| {
                if n == 0 {
                    Fault::ResetMidAnswer
                } else {
                    Fault::Ok("ok".into())
                }
            },
            json!({}),
            error_saying(&["connection to the pool broke", "may or may not have run"]),
            1,
        )
        .await,
    );
    rows.push(
        pool_case(
            &env,
            "truncated JSON",
            |n, _| {
                if n == 0 {
                    Fault::TruncatedJson
                } else {
                    Fault::Ok("ok".into())
                }
            },
            json!({}),
            error_saying(&["could not be read"]),
            1,
        )
        .await,
    );
    rows.push(
        pool_case(
            &env,
            "hang past the timeout",
            |n, _| {
                if n == 0 {
                    Fault::Hang
                } else {
                    Fault::Ok("ok".into())
                }
            },
            json!({}),
            error_saying(&["no answer from the pool", "may still be running"]),
            1,
        )
        .await,
    );
    rows.push(
        pool_case(
            &env,
            "slow drip of bytes",
            |n, _| {
                if n == 0 {
                    Fault::Drip
                } else {
                    Fault::Ok("ok".into())
                }
            },
            json!({}),
            error_saying(&["no answer from the pool"]),
            1,
        )
        .await,
    );
    rows.push(
        pool_case(
            &env,
            "10 MB body (kept whole in a file, head and tail shown)",
            |n, _| if n == 0 { Fault::Huge(10 << 20) } else { Fault::Ok("ok".into()) },
            json!({}),
            |r| match r {
                // 10 MiB of JSON text; escaped newlines decode to one byte each.
                Ok(o) => {
                    let stdout = o["stdout"].as_str().unwrap_or("");
                    let path = stdout.split(" bytes are in ").nth(1).and_then(|t| t.split(']').next()).unwrap_or("");
                    let saved = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
                    if stdout.len() < (3 << 20) && saved > 10_000_000 && !stdout.contains("[output cut") {
                        Ok(())
                    } else {
                        Err(format!("expected head and tail, the whole output in a file; got {} bytes shown, {saved} saved", stdout.len()))
                    }
                }
                other => Err(format!("expected success, got {}", summary(other))),
            },
            1,
        )
        .await,
    );
    rows.push(huge_body_case(&env).await);
    rows.push(
        pool_case(
            &env,
            "nothing listening (refused) past the budget",
            |_, _| Fault::Ok("ok".into()),
            json!({"endpoint": "http://127.0.0.1:9", "coldStartTimeoutSeconds": 1}),
            error_saying(&["could not reach the pool", "connection refused"]),
            0,
        )
        .await,
    );
    // That case's "next run" also goes to port 9: it survived if the server answered it with the
    // same clear error (it cannot succeed).
    if let Some(row) = rows.last_mut()
        && row.failure.as_deref().is_some_and(|f| {
            f.starts_with("the next run did not work: error -32803: could not reach the pool")
        })
    {
        row.failure = None;
        row.survived = true;
    }

    // ── The editor sends bad input ──
    rows.extend(bad_input_cases(&env).await);

    // ── The local pool is pushed around ──
    rows.extend(local_pool_cases(&env).await);

    // ── Secrets and permissions ──
    rows.extend(secret_cases(&env).await);

    // ── Soak ──
    let soak = soak(&env).await;

    write_report(&rows, &soak);
    let failures: Vec<String> = rows
        .iter()
        .filter_map(|r| r.failure.as_ref().map(|f| format!("{}: {f}", r.case)))
        .chain(soak.failure.clone())
        .collect();
    assert!(failures.is_empty(), "{failures:#?}");
}

/// 200 MB of stdout: cut at the cap with a note, memory bounded.
async fn huge_body_case(env: &Env) -> Row {
    let pool = MisbehavingPool::start(|n, _| {
        if n == 0 {
            Fault::Huge(200 << 20)
        } else {
            Fault::Ok("ok".into())
        }
    })
    .await;
    let mut lsp = env
        .server("200mb", pool_settings(&pool, json!({"timeoutSeconds": 30})))
        .await;
    let pid = lsp.child.as_ref().unwrap().id().unwrap();
    let uri = file_uri(&env.folder.join("main.py"));
    lsp.open(&uri, "python", "print('x')\nprint('y')\n").await;
    let idle = rss_kib(pid, "VmRSS:");
    let first = lsp.command("azure-sessions.run", json!({"uri": uri, "range": {"start": {"line": 0, "character": 0}, "end": {"line": 0, "character": 0}}})).await;
    let peak = rss_kib(pid, "VmHWM:");
    let mut failure = match &first {
        Ok(o)
            if o["stdout"].as_str().is_some_and(|s| {
                s.contains("[output cut: the pool's answer was larger than 32 MiB")
            }) =>
        {
            None
        }
        other => Some(format!("expected cut output, got {}", summary(other))),
    };
    if peak > 600 * 1024 {
        failure = Some(format!(
            "peak RSS {} MiB: memory is not bounded",
            peak / 1024
        ));
    }
    let second = lsp.command("azure-sessions.run", json!({"uri": uri, "range": {"start": {"line": 1, "character": 0}, "end": {"line": 1, "character": 0}}})).await;
    let survived = lsp.alive() && second.is_ok();
    Row {
        case: "200 MB body".to_owned(),
        user_sees: format!(
            "{} (server RSS {} MiB idle, {} MiB peak)",
            summary(&first).chars().take(160).collect::<String>(),
            idle / 1024,
            peak / 1024
        ),
        survived,
        lost: false,
        twice: pool.executed() > 2,
        failure: failure.or_else(|| secrets_leaked(env, &lsp)),
    }
}

fn row(case: &str, user_sees: String, survived: bool, failure: Option<String>) -> Row {
    Row {
        case: case.to_owned(),
        user_sees,
        survived,
        lost: false,
        twice: false,
        failure,
    }
}

async fn bad_input_cases(env: &Env) -> Vec<Row> {
    let pool = MisbehavingPool::start(|_, _| Fault::Ok("ok".into())).await;
    let mut lsp = env
        .server(
            "bad-input",
            pool_settings(&pool, json!({"timeoutSeconds": 10})),
        )
        .await;
    let uri = file_uri(&env.folder.join("input.py"));
    let line = "s = '😀漢字é' + 'x'";
    lsp.open(&uri, "python", &format!("{line}\nprint(s)\n"))
        .await;
    let mut rows = Vec::new();

    let invalid = [
        (
            "command without arguments",
            "azure-sessions.run",
            json!(null),
        ),
        (
            "argument of the wrong type",
            "azure-sessions.run",
            json!({"uri": 42}),
        ),
        (
            "unknown, unopened URI",
            "azure-sessions.run",
            json!({"uri": "file:///no/such/file.py"}),
        ),
        (
            "negative position",
            "azure-sessions.run",
            json!({"uri": uri, "range": {"start": {"line": -1, "character": 0}, "end": {"line": 0, "character": 0}}}),
        ),
        (
            "runCell without position",
            "azure-sessions.runCell",
            json!({"uri": uri}),
        ),
        (
            "downloadFile without remoteName",
            "azure-sessions.downloadFile",
            json!({"targetUri": "file:///tmp/x"}),
        ),
        ("unknown command", "azure-sessions.launchRockets", json!({})),
    ];
    for (case, command, argument) in invalid {
        let arguments = if argument.is_null() {
            json!([])
        } else {
            json!([argument])
        };
        let result = lsp
            .request(
                "workspace/executeCommand",
                json!({"command": command, "arguments": arguments}),
            )
            .await;
        let ok = matches!(&result, Err(e) if e["code"] == -32602);
        rows.push(row(
            case,
            summary(&result),
            lsp.alive(),
            (!ok).then(|| format!("expected InvalidParams, got {}", summary(&result))),
        ));
    }

    // Ranges past the end and huge positions are clamped; UTF-16 columns select exact text.
    let before = pool.codes().len();
    let past = lsp.command("azure-sessions.run", json!({"uri": uri, "range": {"start": {"line": 1, "character": 0}, "end": {"line": 900, "character": 900}}})).await;
    let huge = lsp.command("azure-sessions.run", json!({"uri": uri, "range": {"start": {"line": 4294967295u32, "character": 4294967295u32}, "end": {"line": 4294967295u32, "character": 4294967295u32}}})).await;
    let start = "s = ".encode_utf16().count();
    let end = "s = '😀漢字é'".encode_utf16().count();
    let exact = lsp.command("azure-sessions.run", json!({"uri": uri, "range": {"start": {"line": 0, "character": start}, "end": {"line": 0, "character": end}}})).await;
    let codes: Vec<String> = pool.codes().into_iter().skip(before).collect();
    let expected = vec![
        "print(s)\n".to_owned(),
        "".to_owned(),
        "'😀漢字é'".to_owned(),
    ];
    let fine = past.is_ok() && huge.is_ok() && exact.is_ok() && codes == expected;
    rows.push(row(
        "ranges past the end, huge positions, UTF-16 columns on emoji/CJK/combining text",
        format!("sent {codes:?}"),
        lsp.alive(),
        (!fine).then(|| {
            format!(
                "expected {expected:?}, sent {codes:?} ({}, {}, {})",
                summary(&past),
                summary(&huge),
                summary(&exact)
            )
        }),
    ));

    // didChange with an older version is ignored.
    lsp.notify("textDocument/didChange", json!({"textDocument": {"uri": uri, "version": 7}, "contentChanges": [{"text": "print('v7')\n"}]})).await;
    lsp.notify("textDocument/didChange", json!({"textDocument": {"uri": uri, "version": 3}, "contentChanges": [{"text": "print('v3')\n"}]})).await;
    let _ = lsp.command("azure-sessions.run", json!({"uri": uri})).await;
    let last = pool.codes().last().cloned().unwrap_or_default();
    rows.push(row(
        "didChange with out-of-order versions",
        format!("ran {last:?}"),
        lsp.alive(),
        (last != "print('v7')\n").then(|| format!("ran {last:?}, expected the text of version 7")),
    ));

    // A 20 MB document: open, edit, code action and a one-line run stay quick.
    let big_uri = file_uri(&env.folder.join("big.py"));
    let mut big = String::with_capacity(21 << 20);
    while big.len() < 20 << 20 {
        big.push_str("value = 'padding padding padding padding padding padding padding'\n");
    }
    big.push_str("print('the end')\n");
    let lines = big.lines().count() as u32;
    let started = Instant::now();
    eprintln!("[faults] opening a 20 MB document");
    lsp.open(&big_uri, "python", &big).await;
    lsp.notify("textDocument/didChange", json!({"textDocument": {"uri": big_uri, "version": 2}, "contentChanges": [{"range": {"start": {"line": 5, "character": 0}, "end": {"line": 5, "character": 0}}, "text": "# edited\n"}]})).await;
    let actions = lsp.request("textDocument/codeAction", json!({"textDocument": {"uri": big_uri}, "range": {"start": {"line": lines, "character": 0}, "end": {"line": lines, "character": 0}}, "context": {"diagnostics": []}})).await;
    let ran = lsp.command("azure-sessions.run", json!({"uri": big_uri, "range": {"start": {"line": lines, "character": 0}, "end": {"line": lines, "character": 0}}})).await;
    let elapsed = started.elapsed();
    let sent = pool.codes().last().cloned().unwrap_or_default();
    let fine = actions.is_ok()
        && ran.is_ok()
        && sent == "print('the end')"
        && elapsed < Duration::from_secs(20);
    rows.push(row(
        "a 20 MB document",
        format!(
            "open + edit + code action + run of its last line in {:.2} s; sent {sent:?}",
            elapsed.as_secs_f64()
        ),
        lsp.alive(),
        (!fine).then(|| {
            format!(
                "{} / {} / sent {sent:?} / {elapsed:?}",
                summary(&actions.map(|_| json!({"status": "ok"}))),
                summary(&ran)
            )
        }),
    ));
    drop(lsp);

    eprintln!("[faults] bad input done");
    rows.push(queued_then_cancelled(env).await);
    eprintln!("[faults] queued then cancelled done");
    rows.push(shutdown_during_a_run(env).await);
    rows.push(exit_without_shutdown(env).await);
    rows
}

async fn queued_then_cancelled(env: &Env) -> Row {
    let pool = MisbehavingPool::start(|n, _| {
        if n == 0 {
            Fault::Hang
        } else {
            Fault::Ok("after".into())
        }
    })
    .await;
    let mut lsp = env
        .server(
            "cancel-1000",
            pool_settings(&pool, json!({"timeoutSeconds": 60})),
        )
        .await;
    let uri = file_uri(&env.folder.join("queue.py"));
    let text: String = (0..1001).map(|i| format!("print({i})\n")).collect();
    lsp.open(&uri, "python", &text).await;
    let line = |i: u32| json!({"uri": uri, "range": {"start": {"line": i, "character": 0}, "end": {"line": i, "character": 0}}});
    let mut pending = Vec::new();
    for i in 0..1000 {
        pending.push(
            lsp.start_request(
                "workspace/executeCommand",
                json!({"command": "azure-sessions.run", "arguments": [line(i)]}),
            )
            .await,
        );
    }
    while pool.requests() == 0 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let started = Instant::now();
    for (id, _) in &pending {
        lsp.notify("$/cancelRequest", json!({"id": id})).await;
    }
    let (mut cancelled, mut ran, mut other) = (0, 0, Vec::new());
    for (_, rx) in pending {
        match answer(rx, Duration::from_secs(30)).await {
            Err(e) if e["code"] == -32800 => cancelled += 1,
            Ok(o) if o["status"] == "Succeeded" => ran += 1,
            result => other.push(summary(&result)),
        }
    }
    let elapsed = started.elapsed();
    let next = lsp.command("azure-sessions.run", json!({"uri": uri, "range": {"start": {"line": 1000, "character": 0}, "end": {"line": 1000, "character": 0}}})).await;
    // Each code line is distinct: a line sent twice would be a run performed twice.
    let codes = pool.codes();
    let mut distinct = codes.clone();
    distinct.sort();
    distinct.dedup();
    let twice = distinct.len() != codes.len();
    // Sent: the one in flight, those that started before their cancel arrived (answered, or
    // cancelled while waiting for the pool), and the next run: never more than one each.
    let fine = other.is_empty()
        && cancelled + ran == 1000
        && next.is_ok()
        && !twice
        && codes.len() <= 1001;
    Row {
        case: "1,000 runs queued, then cancelled".to_owned(),
        user_sees: format!(
            "{cancelled} answered RequestCancelled and {ran} had finished, within {:.2} s; {} reached the pool (each once) before their cancel, plus the next run",
            elapsed.as_secs_f64(),
            codes.len() - 1
        ),
        survived: lsp.alive() && next.is_ok(),
        lost: false,
        twice,
        failure: (!fine).then(|| {
            format!(
                "cancelled {cancelled}, ran {ran}, others {:?}, next {}, sent {}",
                other.iter().take(3).collect::<Vec<_>>(),
                summary(&next),
                codes.len()
            )
        }),
    }
}

async fn shutdown_during_a_run(env: &Env) -> Row {
    let pool = MisbehavingPool::start(|_, _| Fault::Hang).await;
    let mut lsp = env
        .server(
            "shutdown-during-run",
            pool_settings(&pool, json!({"timeoutSeconds": 60})),
        )
        .await;
    let uri = file_uri(&env.folder.join("s.py"));
    lsp.open(&uri, "python", "print(1)\n").await;
    let (_, run) = lsp
        .start_request(
            "workspace/executeCommand",
            json!({"command": "azure-sessions.run", "arguments": [{"uri": uri}]}),
        )
        .await;
    while pool.requests() == 0 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let started = Instant::now();
    let shutdown = lsp.request("shutdown", json!(null)).await;
    lsp.notify("exit", json!(null)).await;
    let exited = wait_exit(&mut lsp, Duration::from_secs(10)).await;
    let run_answer = tokio::time::timeout(Duration::from_millis(200), run).await;
    let fine = shutdown.is_ok() && exited.is_some();
    row(
        "shutdown during a run",
        format!(
            "shutdown answered in {:.2} s, the process exited ({:?}); the pending run {}",
            started.elapsed().as_secs_f64(),
            exited,
            if run_answer.is_ok() {
                "was answered"
            } else {
                "ended with the connection"
            }
        ),
        true,
        (!fine).then(|| format!("shutdown {shutdown:?}, exit {exited:?}")),
    )
}

async fn exit_without_shutdown(env: &Env) -> Row {
    let mut lsp = env
        .server("exit-without-shutdown", json!({"endpoint": "local"}))
        .await;
    lsp.notify("exit", json!(null)).await;
    let exited = wait_exit(&mut lsp, Duration::from_secs(10)).await;
    row(
        "exit without shutdown",
        format!("the process exited ({exited:?})"),
        true,
        exited
            .is_none()
            .then(|| "the process did not exit within 10 s".to_owned()),
    )
}

async fn wait_exit(lsp: &mut Lsp, limit: Duration) -> Option<i32> {
    let child = lsp.child.as_mut()?;
    match tokio::time::timeout(limit, child.wait()).await {
        Ok(Ok(status)) => Some(status.code().unwrap_or(-1)),
        _ => None,
    }
}

async fn transcript_text(lsp: &Lsp, uri: &str) -> String {
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

async fn local_pool_cases(env: &Env) -> Vec<Row> {
    let mut rows = Vec::new();
    let mut lsp = env
        .server(
            "local-pool",
            json!({"endpoint": "local", "timeoutSeconds": 2, "prewarm": false}),
        )
        .await;
    let uri = file_uri(&env.folder.join("local.py"));
    lsp.open(
        &uri,
        "python",
        "kept = 41\nwhile True: print('x' * 1000)\nwhile True: pass\nimport os; os._exit(3)\nprint(kept + 1)\n",
    )
    .await;
    let line = |i: u32| json!({"uri": uri, "range": {"start": {"line": i, "character": 0}, "end": {"line": i, "character": 0}}});
    let _ = lsp.command("azure-sessions.run", line(0)).await;

    let endless = lsp.command("azure-sessions.run", line(1)).await;
    let stdout_len = endless
        .as_ref()
        .map(|o| o["stdout"].as_str().unwrap_or("").len())
        .unwrap_or(0);
    let ok =
        matches!(&endless, Ok(o) if o["error"]["type"] == "Timeout") && stdout_len <= (2 << 20);
    rows.push(row(
        "local pool: endless output",
        format!(
            "{}; {stdout_len} bytes of stdout kept",
            summary(&endless).chars().take(40).collect::<String>()
        ),
        lsp.alive(),
        (!ok).then(|| {
            format!(
                "expected a timeout with capped output, got {} ({stdout_len} bytes)",
                summary(&endless).chars().take(120).collect::<String>()
            )
        }),
    ));

    let stuck = lsp.command("azure-sessions.run", line(2)).await;
    let after = lsp.command("azure-sessions.run", line(4)).await;
    let text = transcript_text(&lsp, &uri).await;
    let ok = matches!(&stuck, Ok(o) if o["error"]["type"] == "Timeout")
        && matches!(&after, Ok(o) if o["error"]["type"] == "NameError")
        && text.contains("!! The local pool replaced the session's interpreter");
    rows.push(row(
        "local pool: endless loop",
        format!(
            "{}; the next run: {} and the transcript notes that the state is gone",
            summary(&stuck),
            summary(&after).lines().last().unwrap_or("")
        ),
        lsp.alive(),
        (!ok).then(|| format!("{} / {}", summary(&stuck), summary(&after))),
    ));

    let _ = lsp.command("azure-sessions.run", line(0)).await;
    let exited = lsp.command("azure-sessions.run", line(3)).await;
    let after = lsp.command("azure-sessions.run", line(4)).await;
    let text = transcript_text(&lsp, &uri).await;
    let ok = matches!(&exited, Ok(o) if o["status"] == "Failed" && o["stderr"].as_str().unwrap_or("").contains("exited"))
        && matches!(&after, Ok(o) if o["error"]["type"] == "NameError")
        && text.matches("!! The local pool replaced").count() >= 2;
    rows.push(row(
        "local pool: os._exit in user code",
        format!(
            "{}; the next run gets a fresh interpreter and is told so",
            summary(&exited)
                .replace('\n', " ")
                .chars()
                .take(120)
                .collect::<String>()
        ),
        lsp.alive(),
        (!ok).then(|| format!("{} / {}", summary(&exited), summary(&after))),
    ));

    let secret = env.folder.join("upload.txt");
    std::fs::write(&secret, "data").unwrap();
    let traversal = lsp
        .command(
            "azure-sessions.uploadFile",
            json!({"uri": file_uri(&secret), "remoteName": "../../etc/evil"}),
        )
        .await;
    rows.push(row(
        "upload with a remote name containing ../",
        summary(&traversal),
        lsp.alive(),
        (!matches!(&traversal, Err(e) if e["code"] == -32602))
            .then(|| format!("expected InvalidParams, got {}", summary(&traversal))),
    ));
    drop(lsp);

    // The pool itself, over HTTP: invalid identifiers, traversal, loopback only.
    let pool = azure_sessions_lsp::pool::LocalPool::start(
        azure_sessions_lsp::pool::PoolOptions::default(),
    )
    .await
    .unwrap();
    let http = reqwest::Client::new();
    let bad_id = http
        .post(format!(
            "{}/executions?api-version=2025-10-02-preview&identifier=a%20b",
            pool.endpoint()
        ))
        .json(&json!({"code": "1"}))
        .send()
        .await
        .unwrap();
    let code = bad_id
        .headers()
        .get("x-ms-error-code")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let status = bad_id.status().as_u16();
    rows.push(row(
        "local pool: invalid identifier",
        format!("HTTP {status} {code}"),
        true,
        (status != 400 || code != "SessionRequestValidationFailed")
            .then(|| format!("HTTP {status} {code}")),
    ));
    let part = reqwest::multipart::Part::bytes(b"x".to_vec()).file_name("../escape.txt");
    let traversal = http
        .post(format!(
            "{}/files?api-version=2025-10-02-preview&identifier=ident-1",
            pool.endpoint()
        ))
        .multipart(reqwest::multipart::Form::new().part("file", part))
        .send()
        .await
        .unwrap();
    let status = traversal.status().as_u16();
    rows.push(row(
        "local pool: file name with ../",
        format!(
            "HTTP {status} {}",
            traversal
                .headers()
                .get("x-ms-error-code")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
        ),
        true,
        (status != 400).then(|| format!("HTTP {status}")),
    ));
    let loopback = pool.addr().ip().is_loopback();
    rows.push(row(
        "local pool: listening address",
        pool.addr().to_string(),
        true,
        (!loopback).then(|| "not loopback".to_owned()),
    ));
    pool.shutdown().await;
    rows
}

async fn secret_cases(env: &Env) -> Vec<Row> {
    let mut rows = Vec::new();
    let lsp = env
        .server("insecure", json!({"endpoint": "http://pool.example.com"}))
        .await;
    let uri = file_uri(&env.folder.join("main.py"));
    lsp.open(&uri, "python", "print(1)\n").await;
    let result = lsp.command("azure-sessions.run", json!({"uri": uri})).await;
    let warned = lsp
        .received("window/showMessage")
        .iter()
        .any(|m| m["message"].as_str().unwrap_or("").contains("plain HTTP"));
    rows.push(row(
        "plain-HTTP endpoint off loopback",
        format!(
            "setting refused ({}); run: {}",
            if warned {
                "warning names azureSessions.endpoint"
            } else {
                "no warning"
            },
            summary(&result)
        ),
        true,
        (!warned || result.is_ok()).then(|| "expected the endpoint refused".to_owned()),
    ));
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(env.state.join("azure-sessions-lsp/user-secret"))
        .map(|m| m.permissions().mode() & 0o777)
        .unwrap_or(0);
    rows.push(row(
        "per-user secret file permissions",
        format!("{mode:o}"),
        true,
        (mode != 0o600).then(|| format!("mode {mode:o}, expected 600")),
    ));
    let other_state = env._dir.path().join("other-user");
    let id_of = |state: &Path| {
        let mut env_vars = env.env();
        env_vars.retain(|(k, _)| *k != "XDG_STATE_HOME");
        env_vars.push(("XDG_STATE_HOME", state.display().to_string()));
        let log = env.logs.join("ids.log");
        let params = init_params(
            &[&env.folder],
            json!({"azureSessions": {"endpoint": "local"}}),
        );
        async move {
            let lsp = Lsp::spawn(&env_vars, &log, params).await;
            lsp.command("azure-sessions.sessionInfo", json!({}))
                .await
                .unwrap()["identifier"]
                .as_str()
                .unwrap_or("")
                .to_owned()
        }
    };
    let mine = id_of(&env.state).await;
    let theirs = id_of(&other_state).await;
    rows.push(row(
        "two users, same folder",
        format!("{mine} vs {theirs}"),
        true,
        (mine == theirs || mine.is_empty()).then(|| "identifiers must differ".to_owned()),
    ));
    // A token handed over by the editor (VS Code's account) goes through tower-lsp-server, which
    // logs whole messages at trace level.
    let pool = MisbehavingPool::start(|_, _| Fault::Ok("ok".into())).await;
    let log = env.logs.join("editor-token.log");
    let params = init_params(
        &[&env.folder],
        json!({"azureSessions": {"endpoint": pool.endpoint(), "prewarm": false}, "tokenProvider": "client"}),
    );
    let lsp = Lsp::spawn(&env.env(), &log, params).await;
    let uri = file_uri(&env.folder.join("editor.py"));
    lsp.open(&uri, "python", "print(1)\n").await;
    let ran = lsp.command("azure-sessions.run", json!({"uri": uri})).await;
    let sent = pool
        .authorizations()
        .iter()
        .any(|a| a == "Bearer editor-t0ken-secret");
    drop(lsp);
    let in_log = std::fs::read_to_string(&log)
        .unwrap_or_default()
        .contains("editor-t0ken-secret");
    rows.push(row(
        "a token from the editor, at RUST_LOG=trace",
        format!(
            "{}; sent to the pool: {sent}; in the server's stderr: {in_log}",
            summary(&ran)
        ),
        true,
        (!sent || in_log || ran.is_err())
            .then(|| "the editor's token must reach the pool and never the logs".to_owned()),
    ));
    let leaked = {
        let mut found = None;
        for entry in std::fs::read_dir(&env.logs).unwrap() {
            let path = entry.unwrap().path();
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            if text.contains(TOKEN) {
                found = Some(path.display().to_string());
            }
        }
        found
    };
    let log_bytes: u64 = std::fs::read_dir(&env.logs)
        .unwrap()
        .map(|e| e.unwrap().metadata().unwrap().len())
        .sum();
    rows.push(row(
        "the fake token in any server's stderr at RUST_LOG=trace",
        format!(
            "{} KiB of logs searched; {}",
            log_bytes / 1024,
            if leaked.is_some() {
                "FOUND"
            } else {
                "not found"
            }
        ),
        true,
        leaked.map(|p| format!("token found in {p}")),
    ));
    rows
}

struct Soak {
    lines: Vec<String>,
    failure: Option<String>,
}

/// 5,000 runs through the real binary (fake pool, then local pool): memory must not grow.
async fn soak(env: &Env) -> Soak {
    let mut lines = Vec::new();
    let mut failure = None;
    for (name, settings, runs) in [
        ("fake pool", None, 5000usize),
        (
            "local pool",
            Some(json!({"endpoint": "local", "prewarm": false})),
            5000,
        ),
    ] {
        let pool = MisbehavingPool::start(|_, _| Fault::Ok("soak".into())).await;
        let settings =
            settings.unwrap_or_else(|| pool_settings(&pool, json!({"timeoutSeconds": 30})));
        let lsp = env.server(&format!("soak-{name}"), settings).await;
        let pid = lsp.child.as_ref().unwrap().id().unwrap();
        let uri = file_uri(&env.folder.join("soak.py"));
        lsp.open(&uri, "python", "n = 0\nn += 1\n").await;
        let started = Instant::now();
        let mut rss_at = Vec::new();
        let mut errors = 0;
        for i in 0..runs {
            let result = lsp.command("azure-sessions.run", json!({"uri": uri, "range": {"start": {"line": 1, "character": 0}, "end": {"line": 1, "character": 0}}})).await;
            if result.is_err() {
                errors += 1;
            }
            if i == 500 || i == runs - 1 {
                rss_at.push(rss_kib(pid, "VmRSS:"));
            }
            if started.elapsed() > Duration::from_secs(150) {
                lines.push(format!("{name}: stopped after {i} runs (time bound)"));
                break;
            }
        }
        let elapsed = started.elapsed();
        let (early, late) = (
            rss_at.first().copied().unwrap_or(0),
            rss_at.last().copied().unwrap_or(0),
        );
        lines.push(format!(
            "| {name} | {runs} | {errors} | {:.1} s | {:.0} | {:.1} MiB | {:.1} MiB | {:+.1} MiB |",
            elapsed.as_secs_f64(),
            runs as f64 / elapsed.as_secs_f64(),
            early as f64 / 1024.0,
            late as f64 / 1024.0,
            (late as f64 - early as f64) / 1024.0
        ));
        if errors > 0 {
            failure = Some(format!("soak on the {name}: {errors} runs failed"));
        }
        // The transcript keeps every run (bounded at 64 MiB); anything beyond ~1 KiB per run is a leak.
        if late > early + 16 * 1024 {
            failure = Some(format!(
                "soak on the {name}: RSS grew from {early} KiB to {late} KiB"
            ));
        }
    }
    Soak { lines, failure }
}

fn write_report(rows: &[Row], soak: &Soak) {
    let mut text = String::from(
        "# Reliability\n\nGenerated by `tests/faults.rs` (`cargo test --test faults`, part of `bash scripts/test.sh`) from what the real\n\
         binary did, at `RUST_LOG=trace`, against a misbehaving loopback pool (`tests/common/misbehaving.rs`) and bad editor\n\
         input. *Survived*: the server process is up and the next run on it works. *Lost*: the transcript has no record of the\n\
         run. *Twice*: the pool performed the execution more than once. Settings: `timeoutSeconds` 1 (HTTP timeout 6.1 s),\n\
         `coldStartTimeoutSeconds` 3 unless the case says otherwise.\n\n\
         | case | what the user sees | survived | lost | run twice | check |\n|---|---|---|---|---|---|\n",
    );
    for r in rows {
        let sees = r.user_sees.replace('|', "\\|").replace('\n', " ");
        text.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} |\n",
            r.case,
            sees,
            if r.survived { "survived" } else { "**DIED**" },
            if r.lost { "**lost**" } else { "nothing lost" },
            if r.twice {
                "**run twice**"
            } else {
                "not run twice"
            },
            r.failure
                .as_deref()
                .map(|f| format!("**FAILED**: {}", f.replace('|', "\\|")))
                .unwrap_or_else(|| "pass".to_owned())
        ));
    }
    text.push_str("\n## Soak\n\nOne-line runs through the real binary over stdio, one after another; RSS of the server after 500 runs and at the end.\n\n| pool | runs | failed | time | runs/s | RSS at 500 | RSS at end | growth |\n|---|---|---|---|---|---|---|---|\n");
    for line in &soak.lines {
        text.push_str(line);
        text.push('\n');
    }
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/reliability.md");
    let _ = std::fs::write(path, text);
}
