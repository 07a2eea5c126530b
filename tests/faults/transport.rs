//! Malformed LSP frames from the editor (each used to end the server, exit 0, without a word)
//! and a RUST_LOG directive that used to put the editor's token in the logs.

use std::time::Duration;

use serde_json::{Value, json};

use crate::common::lsp::*;
use crate::common::misbehaving::{Fault, MisbehavingPool};
use crate::support::*;

const WAIT: Duration = Duration::from_secs(10);
/// Put in bad frames: it must never show up in the server's stderr.
const MARKER: &str = "tok-transport-s3cret";
/// The token the test editor hands over through `azure-sessions/getAccessToken`.
const EDITOR_TOKEN: &str = "editor-t0ken-secret";

pub async fn transport_attacks(env: &Env) -> Vec<Attack> {
    let mut attacks = Vec::new();
    for case in cases() {
        eprintln!("[faults] transport: {}", case.attack);
        attacks.push(malformed(env, case).await);
    }
    attacks.push(big_message_with_odd_headers(env).await);
    attacks.push(endless_body(env).await);
    attacks.push(codec_trace(env).await);
    attacks
}

struct Case {
    attack: &'static str,
    bytes: Vec<u8>,
    /// The code of the error answer it must get; `None` when the bytes carry a good request
    /// (id `GOOD_ID`) that must be answered.
    code: Option<i64>,
    /// The id the error answer must carry (null when the request's id cannot be read).
    id: Value,
}

const GOOD_ID: i64 = 9001;
const PARSE_ERROR: i64 = -32700;
const INVALID_REQUEST: i64 = -32600;

fn frame(body: &[u8]) -> Vec<u8> {
    let mut bytes = format!("Content-Length: {}\r\n\r\n", body.len()).into_bytes();
    bytes.extend_from_slice(body);
    bytes
}

fn session_info(id: i64) -> String {
    json!({"jsonrpc": "2.0", "id": id, "method": "workspace/executeCommand",
           "params": {"command": "azure-sessions.sessionInfo", "arguments": [{}]}})
    .to_string()
}

fn case(attack: &'static str, bytes: Vec<u8>, code: i64) -> Case {
    Case {
        attack,
        bytes,
        code: Some(code),
        id: Value::Null,
    }
}

fn cases() -> Vec<Case> {
    let good = session_info(GOOD_ID);
    let deep = format!(
        r#"{{"jsonrpc":"2.0","method":"x","params":{}{}}}"#,
        "[".repeat(10_000),
        "]".repeat(10_000)
    );
    let mut endless = b"Content-Length: 10\r\nX-Pad: ".to_vec();
    endless.resize(endless.len() + (20 << 20), b'a');
    let mut not_utf8 = format!(r#"{{"jsonrpc":"2.0","method":"x","params":"{MARKER}"#).into_bytes();
    not_utf8.extend_from_slice(b"\xff\xfe\"}");
    vec![
        case(
            "LSP frame: invalid JSON body, correct Content-Length",
            frame(format!(r#"{{"jsonrpc":"2.0","params":"{MARKER}","#).as_bytes()),
            PARSE_ERROR,
        ),
        case(
            "LSP frame: Content-Length: abc",
            format!("Content-Length: abc\r\n\r\n{{\"{MARKER}\":1}}").into_bytes(),
            PARSE_ERROR,
        ),
        case(
            "LSP frame: Content-Length: -1",
            b"Content-Length: -1\r\n\r\n{}".to_vec(),
            PARSE_ERROR,
        ),
        case("LSP frame: invalid UTF-8 body", frame(&not_utf8), PARSE_ERROR),
        Case {
            attack: "LSP frame: a third header line",
            bytes: format!(
                "Content-Length: {}\r\nContent-Type: application/vscode-jsonrpc; charset=utf-8\r\nX-Third: 3\r\n\r\n{good}",
                good.len()
            )
            .into_bytes(),
            code: None,
            id: Value::Null,
        },
        Case {
            attack: "LSP frame: Content-Type with charset=latin1",
            bytes: format!(
                "Content-Length: {}\r\nContent-Type: application/vscode-jsonrpc; charset=latin1\r\n\r\n{good}",
                good.len()
            )
            .into_bytes(),
            code: None,
            id: Value::Null,
        },
        case(
            r#"LSP frame: JSON that is not JSON-RPC ({"foo":1})"#,
            frame(br#"{"foo":1}"#),
            INVALID_REQUEST,
        ),
        case(
            "LSP frame: a JSON array",
            frame(format!(r#"[1,"{MARKER}"]"#).as_bytes()),
            INVALID_REQUEST,
        ),
        case("LSP frame: a JSON number", frame(b"42"), INVALID_REQUEST),
        Case {
            attack: "LSP frame: a request whose method is a number",
            bytes: frame(br#"{"jsonrpc":"2.0","id":77,"method":5}"#),
            code: Some(INVALID_REQUEST),
            id: json!(77),
        },
        case(
            "LSP frame: JSON nested 10,000 deep",
            frame(deep.as_bytes()),
            PARSE_ERROR,
        ),
        case(
            "LSP frame: a number out of range (1e400)",
            frame(br#"{"jsonrpc":"2.0","method":"x","params":[1e400]}"#),
            PARSE_ERROR,
        ),
        case(
            "LSP frame: 20 MB of header without an end",
            endless,
            PARSE_ERROR,
        ),
        case(
            "LSP frame: bytes without any header",
            format!("garbage without any header \u{1}\u{7f} {MARKER} {{}}").into_bytes(),
            PARSE_ERROR,
        ),
        case(
            "LSP frame: no Content-Length header",
            format!("Content-Type: application/vscode-jsonrpc; charset=utf-8\r\n\r\n{good}")
                .into_bytes(),
            PARSE_ERROR,
        ),
        case(
            "LSP frame: an empty body (Content-Length: 0)",
            b"Content-Length: 0\r\n\r\n".to_vec(),
            PARSE_ERROR,
        ),
    ]
}

/// A server that never talks to a pool: `sessionInfo` answers from its settings.
async fn server(env: &Env, name: &str) -> Lsp {
    env.server(
        name,
        json!({"endpoint": "http://127.0.0.1:9", "auth": "none", "prewarm": false}),
    )
    .await
}

fn log_of(env: &Env, name: &str) -> String {
    let file = format!(
        "{}.log",
        name.replace(|c: char| !c.is_ascii_alphanumeric(), "_")
    );
    std::fs::read_to_string(env.logs.join(file)).unwrap_or_default()
}

/// An answer that answers none of the harness's requests: the transport's, about a bad frame.
fn stray_error(m: &Value) -> bool {
    m.get("method").is_none() && m.get("error").is_some() && m["id"].as_i64() != Some(GOOD_ID)
}

async fn malformed(env: &Env, case: Case) -> Attack {
    let name = format!("transport {}", case.attack);
    let mut lsp = server(env, &name).await;
    let mut happened = Vec::new();
    let mut failure = None;
    if let Err(e) = lsp.send_raw(&case.bytes).await {
        failure = Some(format!("could not write the frame: {e}"));
    }
    match case.code {
        Some(code) => match lsp.wait_message(WAIT, stray_error).await {
            Some(answer) => {
                let error = &answer["error"];
                happened.push(format!(
                    "answered {} (id {}): {}",
                    error["code"],
                    answer["id"],
                    error["message"].as_str().unwrap_or("")
                ));
                if error["code"] != code || answer["id"] != case.id {
                    failure.get_or_insert(format!(
                        "expected code {code} with id {}, got {answer}",
                        case.id
                    ));
                }
            }
            None => {
                happened.push("no error answer".to_owned());
                failure.get_or_insert(format!("no {code} answer within {WAIT:?}"));
            }
        },
        None => {
            let answered = lsp.wait_message(WAIT, |m| m["id"] == GOOD_ID).await;
            let ok = answered.as_ref().is_some_and(|m| m.get("result").is_some());
            happened.push(format!("the request in it answered: {ok}"));
            if !ok {
                failure.get_or_insert("the request in the frame was not answered".to_owned());
            }
        }
    }
    let next = lsp
        .try_request(
            "workspace/executeCommand",
            json!({"command": "azure-sessions.sessionInfo", "arguments": [{}]}),
            WAIT,
        )
        .await;
    let next_ok = matches!(next, Some(Ok(_)));
    happened.push(format!("next request answered: {next_ok}"));
    if !next_ok {
        failure.get_or_insert("the next request was not answered".to_owned());
    }
    if lsp.alive() {
        happened.push("still running".to_owned());
    } else {
        let code = wait_exit(&mut lsp, Duration::from_secs(2)).await;
        happened.push(format!("exited with {code:?}"));
        failure.get_or_insert("the server exited".to_owned());
    }
    drop(lsp);
    let log = log_of(env, &name);
    if case.code.is_some() && !log.contains("dropped a malformed message") {
        failure.get_or_insert("no warning on stderr".to_owned());
    }
    if log.contains(MARKER) {
        failure.get_or_insert("the bad frame's content reached stderr".to_owned());
    }
    let expected = match case.code {
        Some(code) => format!("an error answer ({code}), a warning, the next request answered"),
        None => "the request in the frame and the next one answered".to_owned(),
    };
    Attack::new(case.attack, happened.join("; "), &expected, failure)
}

/// A 20 MB didOpen behind a lower-case header and a Content-Type: a real message, so it
/// passes (rewritten for tower-lsp-server) and nothing is refused.
async fn big_message_with_odd_headers(env: &Env) -> Attack {
    let attack = "LSP frame: a 20 MB document behind a lower-case content-length";
    eprintln!("[faults] transport: {attack}");
    let mut lsp = server(env, "transport big odd headers").await;
    let uri = file_uri(&env.folder.join("big-raw.py"));
    let text = "x = 1\n".repeat((20 << 20) / 6);
    let body = json!({"jsonrpc": "2.0", "method": "textDocument/didOpen",
        "params": {"textDocument": {"uri": uri, "languageId": "python", "version": 1, "text": text}}})
    .to_string();
    let mut bytes = format!(
        "content-length: {}\r\nContent-Type: application/vscode-jsonrpc; charset=utf-8\r\n\r\n",
        body.len()
    )
    .into_bytes();
    bytes.extend_from_slice(body.as_bytes());
    let written = lsp.send_raw(&bytes).await.is_ok();
    let next = lsp
        .try_request(
            "workspace/executeCommand",
            json!({"command": "azure-sessions.sessionInfo", "arguments": [{"uri": uri}]}),
            Duration::from_secs(30),
        )
        .await;
    let refused = lsp
        .wait_message(Duration::from_millis(200), stray_error)
        .await;
    let alive = lsp.alive();
    let ok = written && matches!(next, Some(Ok(_))) && refused.is_none() && alive;
    Attack::new(
        attack,
        format!(
            "written: {written}; refused: {}; next request answered: {}; running: {alive}",
            refused.is_some(),
            matches!(next, Some(Ok(_)))
        ),
        "taken as a message; the next request answered",
        (!ok).then(|| "a legitimate big message was refused or lost".to_owned()),
    )
}

/// `Content-Length: 10^12`: answered at once, and the bytes that follow are dropped as they
/// come instead of being kept.
async fn endless_body(env: &Env) -> Attack {
    let attack = "LSP frame: Content-Length 10^12 (the body never comes)";
    eprintln!("[faults] transport: {attack}");
    let mut lsp = server(env, "transport endless body").await;
    let pid = lsp.child.as_ref().and_then(|c| c.id()).unwrap_or(0);
    let before = rss_kib(pid, "VmRSS:");
    let mut written = lsp
        .send_raw(b"Content-Length: 1000000000000\r\n\r\n")
        .await
        .is_ok();
    let answer = lsp.wait_message(WAIT, stray_error).await;
    let chunk = vec![b'x'; 1 << 20];
    for _ in 0..32 {
        written &= lsp.send_raw(&chunk).await.is_ok();
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let grown_mib = rss_kib(pid, "VmRSS:").saturating_sub(before) / 1024;
    let alive = lsp.alive();
    let code = answer.as_ref().map(|a| a["error"]["code"].clone());
    let ok = written && code == Some(json!(PARSE_ERROR)) && grown_mib < 16 && alive;
    Attack::new(
        attack,
        format!(
            "answered {}; 32 MiB of body sent, memory grew {grown_mib} MiB; running: {alive}",
            code.map(|c| c.to_string())
                .unwrap_or_else(|| "nothing".to_owned())
        ),
        "an error answer at once; the body dropped as it comes (memory grows < 16 MiB)",
        (!ok).then(|| "expected an answer, little memory, the server up".to_owned()),
    )
}

/// RUST_LOG more specific than any floor added to it used to log the editor's answers,
/// token included.
async fn codec_trace(env: &Env) -> Attack {
    let attack = "RUST_LOG=info,tower_lsp_server::codec=trace with a token from the editor";
    eprintln!("[faults] transport: {attack}");
    // Tokens go only over https.
    let pool = MisbehavingPool::start_https(|_, _| Fault::Ok("ok".into())).await;
    let log = env.logs.join("transport-codec-trace.log");
    let mut vars = env.env();
    vars.retain(|(k, _)| *k != "RUST_LOG");
    vars.push(("RUST_LOG", "info,tower_lsp_server::codec=trace".to_owned()));
    let params = init_params(
        &[&env.folder],
        json!({"azureSessions": {"endpoint": pool.endpoint(), "prewarm": false, "extraCaCertificates": [pool.ca_file]}, "tokenProvider": "client"}),
    );
    let lsp = Lsp::spawn(&vars, &log, params).await;
    let uri = file_uri(&env.folder.join("codec.py"));
    lsp.open(&uri, "python", "print(1)\n").await;
    let ran = lsp.command("azure-sessions.run", json!({"uri": uri})).await;
    let sent = pool
        .authorizations()
        .iter()
        .any(|a| *a == format!("Bearer {EDITOR_TOKEN}"));
    drop(lsp);
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    let in_log = text.contains(EDITOR_TOKEN);
    Attack::new(
        attack,
        format!(
            "{}; sent to the pool: {sent}; in the server's stderr: {in_log} ({} lines logged)",
            summary(&ran),
            text.lines().count()
        ),
        "the token reaches the pool and never stderr",
        (!sent || in_log || ran.is_err())
            .then(|| "the editor's token must reach the pool and never the logs".to_owned()),
    )
}
