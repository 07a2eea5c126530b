//! The client against fakes that answer as Azure does according to its spec, docs, issue threads
//! and recorded traffic (`../shared/reference/azure-recordings`), where those differ from what
//! the first fakes assumed. Each test names the audit row it proves (docs/azure-fidelity.md).

mod common;

use std::time::Duration;

use azure_sessions_lsp::auth::Credentials;
use azure_sessions_lsp::sessions::{
    Api, ExecuteRequest, Execution, PoolTarget, SessionsClient, SessionsError,
};
use common::fake_pool::*;
use serde_json::json;

fn request(code: &'static str, language: &'static str) -> ExecuteRequest<'static> {
    ExecuteRequest {
        identifier: "fidelity-1",
        code,
        language,
        stdin: None,
        timeout: Duration::from_secs(30),
        cold_start_budget: Duration::from_secs(3),
    }
}

async fn execute(
    client: &SessionsClient,
    pool: &FakePool,
    api: Api,
    version: Option<&str>,
    req: &ExecuteRequest<'_>,
) -> Result<Execution, SessionsError> {
    let target = PoolTarget::new(&pool.endpoint(), api, version, "{language}/execute").unwrap();
    client
        .execute(&target, &Credentials::None, req, &|_| {})
        .await
}

/// Audit #4 and issue item 5: the body style a pool accepted is remembered, so the fallback
/// costs one round trip once, not on every run.
#[tokio::test]
async fn the_wrapped_body_a_pool_wants_is_remembered() {
    let pool = FakePool::start(|req, _| {
        if req.json().get("properties").is_some() {
            executions_ok("ok\n", json!(null))
        } else {
            azure_error(
                400,
                "SessionPropertiesMissing",
                "code is required but not provided",
            )
        }
    })
    .await;
    let client = SessionsClient::new(&pool.http_options()).unwrap();
    for _ in 0..3 {
        execute(
            &client,
            &pool,
            Api::Executions,
            None,
            &request("1", "python"),
        )
        .await
        .unwrap();
    }
    assert_eq!(
        pool.count(),
        4,
        "one refused flat body, then three wrapped runs"
    );
}

/// Audit #6 and item 5: `outputStreamsMaxLength` only from 2025-10-02-preview; a 400 naming it
/// retries once without it, remembered.
#[tokio::test]
async fn output_streams_max_length_follows_the_api_version_and_a_refusal() {
    let pool = FakePool::start(|req, _| {
        if req.json().get("outputStreamsMaxLength").is_some() {
            azure_error(
                400,
                "InvalidRequestBody",
                "Unknown field outputStreamsMaxLength",
            )
        } else {
            executions_ok("ok\n", json!(null))
        }
    })
    .await;
    let client = SessionsClient::new(&pool.http_options()).unwrap();
    execute(
        &client,
        &pool,
        Api::Executions,
        Some("2024-10-02-preview"),
        &request("1", "python"),
    )
    .await
    .unwrap();
    assert_eq!(pool.count(), 1, "not sent before 2025-10-02-preview");
    for _ in 0..2 {
        execute(
            &client,
            &pool,
            Api::Executions,
            None,
            &request("1", "python"),
        )
        .await
        .unwrap();
    }
    assert_eq!(pool.count(), 4, "refused once, then never sent again");
}

/// Audit #7 and item 3: stdin goes only to pools that take it; a Python pool's run with stdin
/// fails before any request.
#[tokio::test]
async fn stdin_only_where_the_pool_takes_it() {
    let pool = FakePool::start(|_, _| executions_ok("ok\n", json!(null))).await;
    let client = SessionsClient::new(&pool.http_options()).unwrap();
    let mut python = request("input()", "python");
    python.stdin = Some("typed");
    let error = execute(&client, &pool, Api::Executions, None, &python)
        .await
        .unwrap_err();
    assert!(
        matches!(error, SessionsError::StdinNotTaken { .. }),
        "{error}"
    );
    assert_eq!(pool.count(), 0);
    let mut shell = request("read x; echo $x", "shellscript");
    shell.stdin = Some("typed\n");
    execute(&client, &pool, Api::Executions, None, &shell)
        .await
        .unwrap();
    assert_eq!(
        pool.requests()[0].json(),
        json!({"shellCommand": "read x; echo $x", "timeoutInSeconds": 30, "stdin": "typed\n"})
    );
}

/// Audit #31: a 403 names both roles the docs mention.
#[tokio::test]
async fn a_403_names_both_roles() {
    let pool = FakePool::start(|_, _| status(403)).await;
    let client = SessionsClient::new(&pool.http_options()).unwrap();
    let error = execute(
        &client,
        &pool,
        Api::Executions,
        None,
        &request("1", "python"),
    )
    .await
    .unwrap_err()
    .to_string();
    assert!(
        error.contains("Session Executor") && error.contains("Contributor"),
        "{error}"
    );
}

/// Audit #25 and item 8: session calls go by pool kind; a custom-container pool (here marked by
/// `poolType`, since the fake cannot be `*.azurecontainerapps.io`) gets `/.management/*` even
/// with `api = executions`, and the recorded 400 text/plain for a session already stopped means
/// "already stopped".
#[tokio::test]
async fn custom_container_pools_are_stopped_through_management_whatever_the_api() {
    let pool = FakePool::start(|req, n| {
        assert_eq!(req.path, "/.management/stopSession");
        assert_eq!(req.query["api-version"], "2025-02-02-preview");
        if n == 0 {
            Reply::Raw(
                200,
                vec![("content-type", "text/plain; charset=utf-8".to_owned())],
                b"Session fidelity-1 in session pool p stopped.".to_vec(),
            )
        } else {
            Reply::Raw(
                400,
                vec![("content-type", "text/plain; charset=utf-8".to_owned())],
                b"Failed to stop session, session not found.".to_vec(),
            )
        }
    })
    .await;
    let client = SessionsClient::new(&pool.http_options()).unwrap();
    let mut target = PoolTarget::new(&pool.endpoint(), Api::Executions, None, "").unwrap();
    assert!(!target.is_custom_container());
    target.custom_container = Some(true);
    for _ in 0..2 {
        client
            .delete_session(&target, &Credentials::None, "fidelity-1")
            .await
            .unwrap();
    }
    assert_eq!(pool.count(), 2);
    let byoc = PoolTarget::new(
        "https://p.whitebeach-d610c512.eastus.azurecontainerapps.io",
        Api::Executions,
        None,
        "",
    )
    .unwrap();
    assert!(byoc.is_custom_container(), "recognised by its host");
}

/// Audit #19-#22 and item 11: folders in `path`, `nextLink` paging, delete, and the documented
/// file-name characters checked before an upload.
#[tokio::test]
async fn files_follow_the_spec() {
    let pool = FakePool::start(|req, _| {
        let page = req.query.get("page").cloned().unwrap_or_default();
        match (req.method.as_str(), req.path.as_str(), page.as_str()) {
            ("GET", "/files", "") => Reply::Json(200, json!({"value": [{"name": "a.csv", "type": "file", "sizeInBytes": 1}], "nextLink": "/files?api-version=2025-10-02-preview&identifier=fidelity-1&page=2"})),
            ("GET", "/files", "2") => Reply::Json(200, json!({"$id": "1", "value": [{"$id": "2", "name": "b.csv", "type": "file", "sizeInBytes": 2}]})),
            ("POST", "/files", _) => Reply::Json(200, json!({"$id": "1", "name": "c.csv", "type": "", "contentType": "", "sizeInBytes": 3, "lastModifiedAt": "2024-11-11T09:05:02.4865293Z"})),
            ("DELETE", "/files/c.csv", _) => Reply::Raw(204, Vec::new(), Vec::new()),
            _ => status(404),
        }
    })
    .await;
    let client = SessionsClient::new(&pool.http_options()).unwrap();
    let target = PoolTarget::new(&pool.endpoint(), Api::Executions, None, "").unwrap();
    let names: Vec<String> = client
        .list_files(&target, &Credentials::None, "fidelity-1")
        .await
        .unwrap()
        .into_iter()
        .map(|f| f.name)
        .collect();
    assert_eq!(names, ["a.csv", "b.csv"], "both pages");
    let uploaded = client
        .upload_file(
            &target,
            &Credentials::None,
            "fidelity-1",
            "dir/c.csv",
            bytes::Bytes::from_static(b"abc"),
        )
        .await
        .unwrap();
    assert_eq!(uploaded.name, "c.csv");
    let upload = pool
        .requests()
        .into_iter()
        .find(|r| r.method == "POST")
        .unwrap();
    assert_eq!(upload.query["path"], "dir", "the folder goes in `path`");
    client
        .delete_file(&target, &Credentials::None, "fidelity-1", "c.csv")
        .await
        .unwrap();
    let before = pool.count();
    let refused = client
        .upload_file(
            &target,
            &Credentials::None,
            "fidelity-1",
            "a+b.txt",
            bytes::Bytes::from_static(b"x"),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(refused, SessionsError::InvalidFileName { .. }),
        "{refused}"
    );
    assert_eq!(pool.count(), before, "refused before any request");
}
