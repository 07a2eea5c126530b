//! Token caching with the real Azure CLI credential and a fake `az` first on PATH.
//! One test per file: it changes PATH for the whole process.

mod common;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use azure_sessions_lsp::auth::{AuthMode, Credentials};
use azure_sessions_lsp::sessions::{Api, ExecuteRequest, PoolTarget, SessionsClient};
use common::fake_pool::*;
use serde_json::json;

const FAKE_TOKEN: &str = "fake-az-t0ken-for-tests";

/// Writes an `az` that counts its calls in `calls` and answers a token valid for `lifetime` s.
fn fake_az(dir: &Path, lifetime: i64) {
    let script = format!(
        "#!/bin/sh\necho call >> '{calls}'\nsleep 0.2\nnow=$(date +%s)\nprintf '{{\"accessToken\":\"{FAKE_TOKEN}\",\"expires_on\":%s,\"tokenType\":\"Bearer\"}}' $((now + {lifetime}))\n",
        calls = dir.join("calls").display()
    );
    let path = dir.join("az");
    std::fs::write(&path, script).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

fn calls(dir: &Path) -> usize {
    std::fs::read_to_string(dir.join("calls"))
        .map(|t| t.lines().count())
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn az_is_called_once_for_many_runs_and_again_when_the_token_expires() {
    let long = tempfile::tempdir().unwrap();
    let short = tempfile::tempdir().unwrap();
    fake_az(long.path(), 3600);
    fake_az(short.path(), 60); // inside the five-minute refresh margin
    let original_path = std::env::var("PATH").unwrap_or_default();
    // SAFETY: this test binary has a single test; nothing else reads the environment concurrently.
    unsafe { std::env::set_var("PATH", format!("{}:{original_path}", long.path().display())) };

    let pool = FakePool::start_https(|_, _| executions_ok("ok\n", json!(null))).await;
    let target = Arc::new(PoolTarget::new(&pool.endpoint(), Api::Executions, None, "").unwrap());
    let client = SessionsClient::new(&pool.http_options()).unwrap();
    let credentials = Credentials::for_mode(AuthMode::AzureCli);
    let run = |client: SessionsClient, credentials: Credentials, target: Arc<PoolTarget>| async move {
        let request = ExecuteRequest {
            identifier: "id-1234",
            code: "1",
            language: "python",
            stdin: None,
            timeout: Duration::from_secs(10),
            cold_start_budget: Duration::ZERO,
        };
        client
            .execute(&target, &credentials, &request, &|_| {})
            .await
            .unwrap();
    };
    // Five at once, then five more one after another.
    let concurrent: Vec<_> = (0..5)
        .map(|_| tokio::spawn(run(client.clone(), credentials.clone(), target.clone())))
        .collect();
    for task in concurrent {
        task.await.unwrap();
    }
    for _ in 0..5 {
        run(client.clone(), credentials.clone(), target.clone()).await;
    }
    assert_eq!(
        calls(long.path()),
        1,
        "ten runs, five of them concurrent, call az exactly once"
    );
    assert_eq!(pool.count(), 10);
    assert!(
        pool.requests()
            .iter()
            .all(|r| r.header("authorization").as_deref() == Some(&format!("Bearer {FAKE_TOKEN}")))
    );

    // A token that expires within five minutes is fetched again on the next run.
    unsafe {
        std::env::set_var(
            "PATH",
            format!("{}:{original_path}", short.path().display()),
        )
    };
    let credentials = Credentials::for_mode(AuthMode::AzureCli);
    for _ in 0..3 {
        run(client.clone(), credentials.clone(), target.clone()).await;
    }
    assert_eq!(calls(short.path()), 3);

    // No az at all: the error lists what was tried and how to sign in.
    unsafe { std::env::set_var("PATH", "/nonexistent") };
    let error = Credentials::for_mode(AuthMode::Auto)
        .token()
        .await
        .unwrap_err()
        .to_string();
    assert!(error.contains("AzureCliCredential"), "{error}");
    assert!(error.contains("AzureDeveloperCliCredential"), "{error}");
    assert!(error.contains("az login"), "{error}");
    unsafe { std::env::set_var("PATH", original_path) };
}
