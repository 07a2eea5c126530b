//! The attacks of the security review, tried against the real binary and the local pool: what a
//! web page or another local user would send to the pool, and what they could plant where the
//! server writes. The client-side attacks are in `security_tokens`. Each row fails the suite if
//! the attack works.

use std::path::Path;
use std::time::Duration;

use serde_json::json;

use crate::common::lsp::*;
use crate::security_tokens::*;
use crate::support::*;

pub async fn security_attacks(env: &Env) -> Vec<Attack> {
    let mut attacks = Vec::new();
    attacks.extend(pool_cli_attacks(env).await);
    attacks.extend(in_process_pool_attacks(env).await);
    attacks.push(pool_file_api_symlinks().await);
    attacks.extend(output_dir_attacks(env).await);
    attacks.push(identifiers_per_endpoint(env).await);
    attacks.push(token_through_a_proxy_for_127_0_0_2(env).await);
    attacks.push(redirect_to_another_host(env).await);
    attacks.push(token_echoed_in_a_2xx(env).await);
    attacks.push(retry_after_overflow(env).await);
    attacks.push(credentials_in_the_endpoint(env).await);
    attacks.extend(workspace_endpoint_prewarm(env).await);
    attacks.push(hung_az(env).await);
    attacks
}

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

/// Requests a web page or another user could send. `key`: what the attacker knows (`None`: no
/// key). Each runs code that would create a marker file.
async fn csrf_shapes(base: &str, key: Option<&str>, marker: &Path) -> Vec<(String, u16, bool)> {
    let port = base.rsplit(':').next().unwrap_or("0").to_owned();
    let url = format!("{base}/executions?api-version=2025-10-02-preview&identifier=csrf-demo");
    let code = format!(
        "open({:?}, 'a').write('ran\\n')",
        marker.display().to_string()
    );
    let body = json!({"code": code}).to_string();
    let form_body = format!("{{\"code\":{:?},\"x\":\"=\"}}", code);
    let with_key = |request: reqwest::RequestBuilder| match key {
        Some(key) => request.bearer_auth(key),
        None => request,
    };
    let http = http();
    let shapes: Vec<(&str, reqwest::RequestBuilder)> = vec![
        (
            "text/plain body (HTML form enctype=text/plain)",
            with_key(http.post(&url))
                .header("content-type", "text/plain;charset=UTF-8")
                .body(form_body.clone()),
        ),
        (
            "form-encoded body (fetch no-cors)",
            with_key(http.post(&url))
                .header("content-type", "application/x-www-form-urlencoded")
                .body(body.clone()),
        ),
        (
            "no Content-Type",
            with_key(http.post(&url)).body(body.clone()),
        ),
        (
            "Origin: https://evil.example",
            with_key(http.post(&url))
                .header("content-type", "application/json")
                .header("origin", "https://evil.example")
                .body(body.clone()),
        ),
        (
            "foreign Host (DNS rebinding)",
            with_key(http.post(&url))
                .header("content-type", "application/json")
                .header("host", format!("rebind.attacker.example:{port}"))
                .body(body.clone()),
        ),
        (
            "GET /listSessions with a foreign Host",
            with_key(http.get(format!(
                "{base}/listSessions?api-version=2025-10-02-preview"
            )))
            .header("host", "rebind.attacker.example"),
        ),
        (
            "OPTIONS preflight",
            with_key(http.request(reqwest::Method::OPTIONS, &url))
                .header("origin", "https://evil.example")
                .header("access-control-request-method", "POST"),
        ),
        (
            "well-formed JSON, wrong key",
            http.post(&url)
                .bearer_auth("0".repeat(64))
                .header("content-type", "application/json")
                .body(body.clone()),
        ),
        (
            "well-formed JSON, no key",
            http.post(&url)
                .header("content-type", "application/json")
                .body(body.clone()),
        ),
    ];
    let mut seen = Vec::new();
    for (name, request) in shapes {
        let (status, cors) = match request.send().await {
            Ok(response) => (
                response.status().as_u16(),
                response
                    .headers()
                    .contains_key("access-control-allow-origin"),
            ),
            Err(_) => (0, false),
        };
        seen.push((name.to_owned(), status, cors));
    }
    seen
}

fn shapes_row(target: &str, seen: &[(String, u16, bool)], ran: bool) -> Attack {
    let happened = seen
        .iter()
        .map(|(name, status, cors)| {
            format!(
                "{name}: {status}{}",
                if *cors { " with CORS allowance" } else { "" }
            )
        })
        .collect::<Vec<_>>()
        .join("; ");
    let open = seen
        .iter()
        .filter(|(_, status, cors)| !(400..500).contains(status) || *cors)
        .map(|(name, _, _)| name.clone())
        .collect::<Vec<_>>();
    let failure = if ran {
        Some("code ran".to_owned())
    } else if !open.is_empty() {
        Some(format!("not refused: {}", open.join(", ")))
    } else {
        None
    };
    Attack::new(
        &format!("web-page and other-user requests against {target}"),
        format!("{happened}; code ran: {ran}"),
        "each refused (401 no key, 403 Origin/Host, 415 not JSON, 405 OPTIONS), no CORS allowance, nothing runs",
        failure,
    )
}

/// `azure-sessions-lsp pool`: the key on stdout and in a 0600 file; every browser-shaped or
/// keyless request refused.
async fn pool_cli_attacks(env: &Env) -> Vec<Attack> {
    let runtime = tempfile::tempdir().unwrap();
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_azure-sessions-lsp"))
        .args(["pool", "--port", "0"])
        .env("XDG_RUNTIME_DIR", runtime.path())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    use tokio::io::AsyncBufReadExt;
    let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next_line().await.ok().flatten().unwrap_or_default();
    let second = lines.next_line().await.ok().flatten().unwrap_or_default();
    let base = first.trim_start_matches("listening on ").to_owned();
    let key = second.trim_start_matches("key: ").to_owned();
    let marker = env.logs.join("csrf-pool-cli.marker");
    // With the key: each shape meets only the check it is about (the key is not enough).
    let seen = csrf_shapes(&base, Some(&key), &marker).await;
    let control = http()
        .post(format!(
            "{base}/executions?api-version=2025-10-02-preview&identifier=control"
        ))
        .bearer_auth(&key)
        .json(&json!({"code": "1 + 1"}))
        .send()
        .await
        .map(|r| r.status().as_u16())
        .unwrap_or(0);
    let ran = marker.exists();
    let mut rows = vec![shapes_row(
        "`azure-sessions-lsp pool` (attacker holding the key)",
        &seen,
        ran,
    )];
    if let Some(last) = rows.last_mut()
        && !(200..300).contains(&control)
    {
        last.failure = Some(format!(
            "the pool's own client (key, JSON) got {control}, so the refusals prove nothing"
        ));
    }
    let key_file = runtime.path().join("azure-sessions-lsp").join(format!(
        "pool-{}.key",
        base.rsplit(':').next().unwrap_or("")
    ));
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&key_file)
        .map(|m| m.permissions().mode() & 0o777)
        .unwrap_or(0);
    let dir_mode = std::fs::metadata(runtime.path().join("azure-sessions-lsp"))
        .map(|m| m.permissions().mode() & 0o777)
        .unwrap_or(0);
    let holds = std::fs::read_to_string(&key_file)
        .unwrap_or_default()
        .trim()
        == key;
    rows.push(Attack::new(
        "another local user reads the pool's key",
        format!("key file {mode:o} in a {dir_mode:o} directory; holds the printed key: {holds}; key length {}", key.len()),
        "a 256-bit key, in a 0600 file of a 0700 directory",
        (mode != 0o600 || dir_mode != 0o700 || !holds || key.len() != 64)
            .then(|| "the key is not private".to_owned()),
    ));
    // The language server, given only the endpoint, finds the key by port (its own user's file).
    let mut vars = env.env();
    vars.push(("XDG_RUNTIME_DIR", runtime.path().display().to_string()));
    let lsp = Lsp::spawn(
        &vars,
        &env.logs.join("pool-key-by-port.log"),
        init_params(
            &[&env.folder],
            json!({"azureSessions": {"endpoint": base, "prewarm": false}}),
        ),
    )
    .await;
    let uri = file_uri(&env.folder.join("keyed.py"));
    lsp.open(&uri, "python", "print('with the key')\n").await;
    let ran = lsp.command("azure-sessions.run", json!({"uri": uri})).await;
    rows.push(Attack::new(
        "control: the language server pointed at `pool`'s http://127.0.0.1:PORT, no key setting",
        summary(&ran),
        "the key is found by port and the run succeeds",
        (!matches!(&ran, Ok(o) if o["stdout"] == "with the key\n"))
            .then(|| "the server did not find the pool's key".to_owned()),
    ));
    let _ = child.kill().await;
    rows
}

/// The LSP's own pool (`endpoint: "local"`): found by scanning the server's listening sockets,
/// as another user would find it with `ss -ltn`.
async fn in_process_pool_attacks(env: &Env) -> Vec<Attack> {
    let mut lsp = env
        .server("in-process-pool", json!({"endpoint": "local"}))
        .await;
    let uri = file_uri(&env.folder.join("victim.py"));
    lsp.open(&uri, "python", "secret = 41\n").await;
    let ran = lsp.command("azure-sessions.run", json!({"uri": uri})).await;
    let pid = lsp.child.as_ref().and_then(|c| c.id()).unwrap_or(0);
    let ports = listening_ports(pid);
    let marker = env.logs.join("csrf-in-process.marker");
    let mut seen = Vec::new();
    let mut listed = Vec::new();
    for port in &ports {
        let base = format!("http://127.0.0.1:{port}");
        seen.extend(csrf_shapes(&base, None, &marker).await);
        let list = http()
            .get(format!(
                "{base}/listSessions?api-version=2025-10-02-preview"
            ))
            .send()
            .await
            .map(|r| r.status().as_u16())
            .unwrap_or(0);
        listed.push(list);
    }
    let mut row = shapes_row(
        "the language server's in-process pool (`endpoint: \"local\"`, attacker without the key)",
        &seen,
        marker.exists(),
    );
    row.happened = format!(
        "{} listening port(s) found; GET /listSessions: {listed:?}; {}",
        ports.len(),
        row.happened
    );
    if ports.is_empty() || ran.is_err() {
        row.failure = Some(format!(
            "could not try: the run gave {} and {} port(s) were found",
            summary(&ran),
            ports.len()
        ));
    } else if listed.iter().any(|s| *s != 401) {
        row.failure = Some(format!("/listSessions answered {listed:?}"));
    }
    let _ = wait_exit(&mut lsp, Duration::from_millis(1)).await;
    vec![row]
}

/// TCP ports a process listens on (from /proc: its socket inodes, matched in /proc/net/tcp).
fn listening_ports(pid: u32) -> Vec<u16> {
    let inodes: Vec<String> = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|dir| {
            dir.flatten()
                .filter_map(|e| std::fs::read_link(e.path()).ok())
                .filter_map(|t| {
                    let t = t.to_string_lossy().into_owned();
                    t.strip_prefix("socket:[")
                        .and_then(|r| r.strip_suffix(']'))
                        .map(str::to_owned)
                })
                .collect()
        })
        .unwrap_or_default();
    let table = std::fs::read_to_string("/proc/net/tcp").unwrap_or_default();
    table
        .lines()
        .skip(1)
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let (local, state, inode) = (fields.get(1)?, fields.get(3)?, fields.get(9)?);
            (*state == "0A" && inodes.iter().any(|i| i == inode))
                .then(|| u16::from_str_radix(local.rsplit(':').next()?, 16).ok())
                .flatten()
        })
        .collect()
}

/// Code in a session plants symlinks out of its directory; the file API must not follow them.
async fn pool_file_api_symlinks() -> Attack {
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("important.txt"), "keep me").unwrap();
    let pool = azure_sessions_lsp::pool::LocalPool::start(Default::default())
        .await
        .unwrap();
    let http = http();
    let q = "api-version=2025-10-02-preview&identifier=links-1";
    let base = pool.endpoint();
    let code = format!(
        "import os\nos.symlink({:?}, 'outside')\nos.symlink('/etc/passwd', 'pw')\n",
        outside.path().display().to_string()
    );
    let made = http
        .post(format!("{base}/executions?{q}"))
        .bearer_auth(pool.key())
        .json(&json!({"code": code}))
        .send()
        .await
        .map(|r| r.status().as_u16())
        .unwrap_or(0);
    let status =
        |r: Result<reqwest::Response, reqwest::Error>| r.map(|r| r.status().as_u16()).unwrap_or(0);
    let list = status(
        http.get(format!("{base}/files?{q}&path=outside"))
            .bearer_auth(pool.key())
            .send()
            .await,
    );
    let read = status(
        http.get(format!("{base}/files/pw/content?{q}"))
            .bearer_auth(pool.key())
            .send()
            .await,
    );
    let delete = status(
        http.delete(format!("{base}/files/important.txt?{q}&path=outside"))
            .bearer_auth(pool.key())
            .send()
            .await,
    );
    let part = reqwest::multipart::Part::bytes(b"dropped".to_vec()).file_name("dropped.txt");
    let upload = status(
        http.post(format!("{base}/files?{q}&path=outside"))
            .bearer_auth(pool.key())
            .multipart(reqwest::multipart::Form::new().part("file", part))
            .send()
            .await,
    );
    let kept = outside.path().join("important.txt").exists();
    let dropped = outside.path().join("dropped.txt").exists();
    pool.shutdown().await;
    Attack::new(
        "local pool file API through symlinks a session made (`outside` → a user directory, `pw` → /etc/passwd)",
        format!(
            "links made: {made}; list outside: {list}; read pw: {read}; delete through outside: {delete}; upload through outside: {upload}; file kept: {kept}; file dropped outside: {dropped}"
        ),
        "400 FilePathInvalid for each; nothing outside read, deleted or written",
        (!(200..300).contains(&made)
            || [list, read, delete, upload].iter().any(|s| *s != 400)
            || !kept
            || dropped)
            .then(|| "the file API left the session's directory".to_owned()),
    )
}

/// Big outputs are saved to files: a symlink or another user's directory planted where they go.
async fn output_dir_attacks(env: &Env) -> Vec<Attack> {
    let mut rows = Vec::new();
    for case in ["symlink", "other-user"] {
        let runtime = tempfile::tempdir().unwrap();
        let planted = runtime.path().join("azure-sessions-lsp");
        let victim = tempfile::tempdir().unwrap();
        match case {
            "symlink" => std::os::unix::fs::symlink(victim.path(), &planted).unwrap(),
            _ => {
                std::fs::create_dir(&planted).unwrap();
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(&planted, std::fs::Permissions::from_mode(0o777)).unwrap();
                if std::os::unix::fs::chown(&planted, Some(4242), Some(4242)).is_err() {
                    rows.push(Attack::new(
                        "the output directory belongs to another user",
                        "not tried: changing a directory's owner needs root".to_owned(),
                        "refused, output kept in memory with a note",
                        None,
                    ));
                    continue;
                }
            }
        }
        let mut vars = env.env();
        vars.push(("XDG_RUNTIME_DIR", runtime.path().display().to_string()));
        let lsp = Lsp::spawn(
            &vars,
            &env.logs.join(format!("output-dir-{case}.log")),
            init_params(
                &[&env.folder],
                json!({"azureSessions": {"endpoint": "local"}}),
            ),
        )
        .await;
        let uri = file_uri(&env.folder.join("big.py"));
        lsp.open(&uri, "python", "print('€' * 1_100_000)\n").await;
        let ran = lsp.command("azure-sessions.run", json!({"uri": uri})).await;
        let note = ran
            .as_ref()
            .ok()
            .and_then(|o| o["stdout"].as_str())
            .and_then(|s| s.lines().find(|l| l.starts_with("[…")).map(str::to_owned))
            .unwrap_or_default();
        let written: Vec<String> = std::fs::read_dir(victim.path())
            .map(|d| {
                d.flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        let in_planted = std::fs::read_dir(&planted).map(|d| d.count()).unwrap_or(0);
        let (attack, expected) = match case {
            "symlink" => (
                "a symlink planted where the server saves big outputs",
                "nothing written through the link; the output is cut with a note that says why",
            ),
            _ => (
                "the output directory made first by another user (0777, their uid)",
                "refused; nothing written there; the output is cut with a note that says why",
            ),
        };
        rows.push(Attack::new(
            attack,
            format!(
                "{}; note: {note}; files through the link: {written:?}; files in the planted directory: {in_planted}",
                ran.as_ref().map(|_| "the run succeeded").unwrap_or("the run failed")
            ),
            expected,
            (ran.is_err()
                || !note.contains("not saved")
                || !written.is_empty()
                || (case == "other-user" && in_planted > 0))
                .then(|| "the output went through the planted path, or no note".to_owned()),
        ));
        drop(lsp);
    }
    rows
}
