//! Every recorded interaction with real pools (`tests/fixtures/azure-recordings.json`, copied from
//! `../shared/reference/azure-recordings`: the Azure CLI's recorded scenario tests, plus body-only
//! fixtures) replayed through the client: a loopback server answers with the recorded status,
//! headers and body, and the client must read it as Azure meant it. Where a recording and
//! another reference disagree, the recording wins.

mod common;

use std::time::Duration;

use azure_sessions_lsp::auth::Credentials;
use azure_sessions_lsp::sessions::error::AzureErrorBody;
use azure_sessions_lsp::sessions::{
    Api, ExecuteRequest, ExecutionStatus, PoolTarget, SessionsClient, response,
};
use common::fake_pool::{FakePool, Reply};
use serde_json::Value;

fn recordings() -> Vec<Value> {
    let text = include_str!("fixtures/azure-recordings.json");
    serde_json::from_str(text).expect("the recordings are JSON")
}

/// A server that answers every request with the recorded answer.
async fn replay(entry: &Value) -> FakePool {
    let status = entry["status"].as_u64().unwrap() as u16;
    let body = entry["response_body"]
        .as_str()
        .unwrap_or("")
        .as_bytes()
        .to_vec();
    let headers: Vec<(&'static str, String)> = entry["response_headers"]
        .as_object()
        .map(|h| {
            h.iter()
                // Lengths and connection handling are the test server's own.
                .filter(|(k, _)| {
                    !matches!(
                        k.to_ascii_lowercase().as_str(),
                        "content-length" | "transfer-encoding" | "connection" | "date"
                    )
                })
                .map(|(k, v)| {
                    let name: &'static str = Box::leak(k.to_ascii_lowercase().into_boxed_str());
                    (name, v.as_str().unwrap_or("").to_owned())
                })
                .collect()
        })
        .unwrap_or_default();
    FakePool::start(move |_, _| Reply::Raw(status, headers.clone(), body.clone())).await
}

fn query(url: &str, key: &str) -> Option<String> {
    let query = url.split_once('?')?.1;
    query.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        (k == key).then(|| v.to_owned())
    })
}

fn request() -> ExecuteRequest<'static> {
    ExecuteRequest {
        identifier: "testidentifier000003",
        code: "print(\"Hello world\")",
        language: "python",
        stdin: None,
        timeout: Duration::from_secs(60),
        cold_start_budget: Duration::ZERO,
    }
}

#[tokio::test]
async fn every_recorded_answer_is_read_as_azure_meant_it() {
    let mut checked = Vec::new();
    for entry in recordings() {
        let operation = entry["operation"].as_str().unwrap_or("").to_owned();
        let url = entry["url"].as_str().unwrap_or("").to_owned();
        let method = entry["method"].as_str().unwrap_or("").to_owned();
        let body = entry["response_body"].as_str().unwrap_or("").to_owned();
        let version = query(&url, "api-version");
        let path = url.split('?').next().unwrap_or("").to_owned();
        let what = format!(
            "{method} {operation} ({})",
            entry["source"]["path"].as_str().unwrap_or("")
        );
        if entry["status"].is_null() {
            // Body-only fixtures: the parser alone.
            if operation.contains("execut") {
                let e = response::parse_execution(body.as_bytes())
                    .unwrap_or_else(|e| panic!("{what}: {e}"));
                assert_eq!(e.status, ExecutionStatus::Succeeded, "{what}");
            } else if operation.contains("list") {
                assert!(
                    !response::parse_file_list(body.as_bytes())
                        .unwrap()
                        .is_empty(),
                    "{what}"
                );
            } else if operation.contains("upload") {
                assert!(
                    response::parse_uploaded_file(body.as_bytes()).is_ok(),
                    "{what}"
                );
            } else {
                let error = AzureErrorBody::parse(None, body.as_bytes());
                assert!(error.code.is_some(), "{what}: {body}");
            }
            checked.push(what);
            continue;
        }
        if url.starts_with("http://localhost:6000") {
            // The BYOC container behind a pool, as Microsoft's sample shows it: a synchronous
            // run's 202 is final; an asynchronous one is Running, to be polled.
            let e = response::parse_execution(body.as_bytes()).unwrap();
            let pending = response::is_pending(&e.raw_status);
            assert_eq!(pending, operation.contains("async"), "{what}");
            if !pending {
                assert_eq!(e.status, ExecutionStatus::Succeeded, "{what}");
            }
            checked.push(what);
            continue;
        }
        let pool = replay(&entry).await;
        let client = SessionsClient::new(&pool.http_options()).unwrap();
        let api = if path.ends_with("/code/execute")
            || version.as_deref() == Some("2024-02-02-preview")
        {
            Api::Legacy
        } else {
            Api::Executions
        };
        let mut target = PoolTarget::new(&pool.endpoint(), api, version.as_deref(), "").unwrap();
        let none = Credentials::None;
        let id = "testidentifier000003";
        let recorded: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
        match (method.as_str(), operation.as_str()) {
            ("POST", op) if op.contains("execute") || op.contains("executions") => {
                let e = client
                    .execute(&target, &none, &request(), &|_| {})
                    .await
                    .unwrap_or_else(|e| panic!("{what}: {e}"));
                assert_eq!(e.status, ExecutionStatus::Succeeded, "{what}");
                assert_eq!(e.stdout, "Hello world\n", "{what}");
                assert_eq!(e.result, Value::Null, "{what}: \"\" is no value");
                assert_eq!(
                    pool.count(),
                    1,
                    "{what}: a 202 with the result is final, never polled"
                );
                if let Some(guid) = entry["response_headers"]["x-ms-session-guid"].as_str() {
                    assert_eq!(e.session_guid.as_deref(), Some(guid), "{what}");
                }
            }
            ("POST", op) if op.contains("upload") => {
                let file = client
                    .upload_file(
                        &target,
                        &none,
                        id,
                        "cert.txt",
                        bytes::Bytes::from_static(b"testing"),
                    )
                    .await
                    .unwrap_or_else(|e| panic!("{what}: {e}"));
                assert_eq!(file.name, "cert.txt", "{what}");
                assert_eq!(file.size, Some(7), "{what}");
            }
            ("GET", op) if op.starts_with("list") => {
                let files = client
                    .list_files(&target, &none, id)
                    .await
                    .unwrap_or_else(|e| panic!("{what}: {e}"));
                let expected = recorded["value"].as_array().map(|v| v.len()).unwrap_or(0);
                assert_eq!(files.len(), expected, "{what}");
                if expected > 0 {
                    assert_eq!(files[0].name, "cert.txt", "{what}");
                }
            }
            ("GET", op) if op.contains("content") => {
                let bytes = client
                    .download_file(&target, &none, id, "cert.txt")
                    .await
                    .unwrap();
                assert_eq!(&bytes[..], b"testing", "{what}");
            }
            ("GET", op) if op.contains("metadata") => {
                // Metadata omits `type` and `contentType` (new API) or wraps in `properties`.
                let file = response::parse_uploaded_file(body.as_bytes())
                    .unwrap_or_else(|e| panic!("{what}: {e}"));
                assert_eq!(
                    (file.name.as_str(), file.size),
                    ("cert.txt", Some(7)),
                    "{what}"
                );
            }
            ("DELETE", _) => {
                client
                    .delete_file(&target, &none, id, "cert.txt")
                    .await
                    .unwrap_or_else(|e| panic!("{what}: {e}"));
            }
            ("POST", op) if op.contains("stopSession") => {
                // 200 "stopped", and the 400 text/plain "session not found" for one already gone.
                target.custom_container = Some(true);
                client
                    .delete_session(&target, &none, id)
                    .await
                    .unwrap_or_else(|e| panic!("{what}: {e}"));
            }
            ("GET", op) if op.contains("forwarded") => {
                // A path the pool forwards to the container: the client sends none such.
                assert_eq!(entry["status"], 200);
            }
            _ => panic!("no replay for {what}"),
        }
        checked.push(what);
    }
    assert_eq!(
        checked.len(),
        36,
        "every recording is replayed: {checked:#?}"
    );
}
