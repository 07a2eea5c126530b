//! The sessions client against loopback servers that answer like Azure.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use azure_sessions_lsp::auth::{AccessToken, AuthError, Credentials, TokenCache, TokenSource};
use azure_sessions_lsp::sessions::{
    Api, ExecuteRequest, ExecutionStatus, HttpOptions, PoolTarget, RetryNotice, SessionsClient,
    SessionsError,
};
use bytes::Bytes;
use common::fake_pool::*;
use futures::FutureExt;
use futures::future::BoxFuture;
use serde_json::json;

const FAKE_TOKEN: &str = "fake-token-c1ient-t3st";

struct Tokens(Arc<AtomicUsize>);

impl TokenSource for Tokens {
    fn fetch(&self) -> BoxFuture<'static, Result<AccessToken, AuthError>> {
        let n = self.0.fetch_add(1, Ordering::SeqCst) + 1;
        async move {
            Ok(AccessToken::new(
                format!("{FAKE_TOKEN}-{n}"),
                time::OffsetDateTime::now_utc() + time::Duration::hours(1),
            ))
        }
        .boxed()
    }
}

fn bearer() -> (Credentials, Arc<AtomicUsize>) {
    let calls = Arc::new(AtomicUsize::new(0));
    (
        Credentials::Bearer(Arc::new(TokenCache::new(Arc::new(Tokens(calls.clone()))))),
        calls,
    )
}

fn client() -> SessionsClient {
    SessionsClient::new(&HttpOptions::default()).unwrap()
}

/// A client that trusts the fake's test CA (tokens go only over https).
fn client_for(pool: &FakePool) -> SessionsClient {
    SessionsClient::new(&pool.http_options()).unwrap()
}

fn request<'a>(code: &'a str, budget: Duration) -> ExecuteRequest<'a> {
    ExecuteRequest {
        identifier: "ws-1234&x y",
        code,
        language: "python",
        stdin: None,
        timeout: Duration::from_secs(5),
        cold_start_budget: budget,
    }
}

fn no_progress(_: RetryNotice) {}

#[tokio::test]
async fn executions_request_is_exact() {
    let pool = FakePool::start_https(|_, _| executions_ok("63\n", json!(4))).await;
    let target = PoolTarget::new(&pool.endpoint(), Api::Executions, None, "").unwrap();
    let (credentials, _) = bearer();
    let execution = client_for(&pool)
        .execute(
            &target,
            &credentials,
            &request("print(63)", Duration::ZERO),
            &no_progress,
        )
        .await
        .unwrap();
    assert_eq!(execution.status, ExecutionStatus::Succeeded);
    assert_eq!(execution.stdout, "63\n");
    assert_eq!(execution.result, json!(4));

    let sent = &pool.requests()[0];
    assert_eq!(sent.method, "POST");
    assert_eq!(sent.path, "/executions");
    assert_eq!(
        sent.raw_query,
        "api-version=2025-10-02-preview&identifier=ws-1234%26x+y"
    );
    assert_eq!(sent.query["identifier"], "ws-1234&x y");
    assert_eq!(
        sent.header("authorization").unwrap(),
        format!("Bearer {FAKE_TOKEN}-1")
    );
    assert_eq!(
        sent.header("user-agent").unwrap(),
        format!(
            "azure-sessions-lsp/{} (Language=Rust)",
            env!("CARGO_PKG_VERSION")
        )
    );
    assert!(uuid::Uuid::parse_str(&sent.header("operation-id").unwrap()).is_ok());
    assert_eq!(sent.header("content-type").unwrap(), "application/json");
    let body = sent.json();
    assert_eq!(body["code"], "print(63)");
    assert_eq!(body["codeInputType"], "Inline");
    assert_eq!(body["executionType"], "Synchronous");
    assert_eq!(body["timeoutInSeconds"], 5);
    assert!(body["outputStreamsMaxLength"].as_u64().unwrap() > 4096);
    assert!(body.get("properties").is_none());
}

#[tokio::test]
async fn legacy_request_is_exact() {
    let pool = FakePool::start(|_, _| {
        Reply::Json(200, json!({"$id":"1","properties":{"$id":"2","status":"Success","stdout":"hi\n","stderr":"","result":2,"executionTimeInMilliseconds":33}}))
    })
    .await;
    let target = PoolTarget::new(&pool.endpoint(), Api::Legacy, None, "").unwrap();
    let execution = client()
        .execute(
            &target,
            &Credentials::None,
            &request("print('hi')", Duration::ZERO),
            &no_progress,
        )
        .await
        .unwrap();
    assert_eq!(execution.stdout, "hi\n");
    assert_eq!(execution.execution_time_ms, Some(33));
    let sent = &pool.requests()[0];
    assert_eq!(sent.path, "/code/execute");
    assert_eq!(sent.query["api-version"], "2024-02-02-preview");
    assert!(
        sent.header("authorization").is_none(),
        "auth = none sends no Authorization header"
    );
    assert_eq!(
        sent.json(),
        json!({"properties": {"codeInputType": "inline", "executionType": "synchronous", "code": "print('hi')", "timeoutInSeconds": 5}})
    );
}

#[tokio::test]
async fn custom_container_request_is_exact() {
    let pool = FakePool::start(|_, _| {
        Reply::Json(
            200,
            json!({"run": {"stdout": "ok\n", "stderr": "", "code": 0}}),
        )
    })
    .await;
    let target = PoolTarget::new(
        &format!("{}/base/", pool.endpoint()),
        Api::Custom,
        None,
        "{language}/execute",
    )
    .unwrap();
    let mut req = request("print('ok')", Duration::ZERO);
    req.stdin = Some("line\n");
    let execution = client()
        .execute(&target, &Credentials::None, &req, &no_progress)
        .await
        .unwrap();
    assert_eq!(execution.stdout, "ok\n");
    let sent = &pool.requests()[0];
    assert_eq!(sent.path, "/base/python/execute");
    assert_eq!(sent.raw_query, "identifier=ws-1234%26x+y");
    assert_eq!(
        sent.json(),
        json!({"properties": {"code": "print('ok')", "stdin": "line\n", "language": "python", "timeoutInSeconds": 5}})
    );
}

#[tokio::test]
async fn flat_body_falls_back_to_wrapped_once() {
    let pool = FakePool::start(|req, _| {
        if req.json().get("properties").is_some() {
            executions_ok("wrapped\n", json!(null))
        } else {
            azure_error(
                400,
                "SessionPropertiesMissing",
                "code is required but not provided",
            )
        }
    })
    .await;
    let target = PoolTarget::new(&pool.endpoint(), Api::Executions, None, "").unwrap();
    let execution = client()
        .execute(
            &target,
            &Credentials::None,
            &request("1", Duration::ZERO),
            &no_progress,
        )
        .await
        .unwrap();
    assert_eq!(execution.stdout, "wrapped\n");
    let requests = pool.requests();
    assert_eq!(requests.len(), 2);
    assert!(requests[0].json().get("properties").is_none());
    assert_eq!(requests[1].json()["properties"]["code"], "1");
}

#[tokio::test]
async fn wrapped_refused_too_gives_azures_message() {
    let pool = FakePool::start(|_, _| {
        azure_error(
            400,
            "SessionPropertiesMissing",
            "code is required but not provided",
        )
    })
    .await;
    let target = PoolTarget::new(&pool.endpoint(), Api::Executions, None, "").unwrap();
    let error = client()
        .execute(
            &target,
            &Credentials::None,
            &request("1", Duration::ZERO),
            &no_progress,
        )
        .await
        .unwrap_err();
    assert_eq!(pool.count(), 2, "one retry wrapped, no more");
    assert_eq!(
        error.to_string(),
        "the pool refused the request (400 SessionPropertiesMissing): code is required but not provided"
    );
}

#[tokio::test]
async fn cold_start_502s_are_retried_within_the_budget() {
    let pool = FakePool::start(|_, n| {
        if n < 3 {
            status(502)
        } else {
            executions_ok("up\n", json!(null))
        }
    })
    .await;
    let target = PoolTarget::new(&pool.endpoint(), Api::Executions, None, "").unwrap();
    let notices = Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = notices.clone();
    let progress = move |n: RetryNotice| seen.lock().unwrap().push(n.reason);
    let execution = client()
        .execute(
            &target,
            &Credentials::None,
            &request("1", Duration::from_secs(10)),
            &progress,
        )
        .await
        .unwrap();
    assert_eq!(execution.stdout, "up\n");
    assert_eq!(pool.count(), 4);
    assert_eq!(*notices.lock().unwrap(), vec!["502 Bad Gateway"; 3]);
}

#[tokio::test]
async fn cold_start_gives_up_at_the_budget_with_a_clear_message() {
    let pool = FakePool::start(|_, _| status(503)).await;
    let target = PoolTarget::new(&pool.endpoint(), Api::Executions, None, "").unwrap();
    let started = Instant::now();
    let error = client()
        .execute(
            &target,
            &Credentials::None,
            &request("1", Duration::from_secs(1)),
            &no_progress,
        )
        .await
        .unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(3));
    assert!(matches!(error, SessionsError::NotReady { .. }), "{error}");
    assert!(
        error.to_string().contains("coldStartTimeoutSeconds"),
        "{error}"
    );
    assert!(pool.count() >= 2);
}

#[tokio::test]
async fn retry_after_is_honoured() {
    let pool = FakePool::start(|_, n| {
        if n == 0 {
            Reply::Raw(503, vec![("retry-after", "1".into())], Vec::new())
        } else {
            executions_ok("", json!(null))
        }
    })
    .await;
    let target = PoolTarget::new(&pool.endpoint(), Api::Executions, None, "").unwrap();
    let started = Instant::now();
    client()
        .execute(
            &target,
            &Credentials::None,
            &request("1", Duration::from_secs(10)),
            &no_progress,
        )
        .await
        .unwrap();
    let waited = started.elapsed();
    assert!(waited >= Duration::from_millis(950), "{waited:?}");
    assert!(waited < Duration::from_secs(3), "{waited:?}");
}

#[tokio::test]
async fn a_500_is_never_retried() {
    let pool = FakePool::start(|_, _| azure_error(500, "InternalServerError", "boom")).await;
    let target = PoolTarget::new(&pool.endpoint(), Api::Executions, None, "").unwrap();
    let error = client()
        .execute(
            &target,
            &Credentials::None,
            &request("1", Duration::from_secs(10)),
            &no_progress,
        )
        .await
        .unwrap_err();
    assert_eq!(pool.count(), 1);
    assert_eq!(
        error.to_string(),
        "the pool answered HTTP 500: InternalServerError: boom"
    );
}

#[tokio::test]
async fn a_401_refreshes_the_token_once() {
    let pool = FakePool::start_https(|req, _| {
        if req.header("authorization").as_deref() == Some(&format!("Bearer {FAKE_TOKEN}-1")) {
            status(401)
        } else {
            executions_ok("ok", json!(null))
        }
    })
    .await;
    let target = PoolTarget::new(&pool.endpoint(), Api::Executions, None, "").unwrap();
    let (credentials, calls) = bearer();
    client_for(&pool)
        .execute(
            &target,
            &credentials,
            &request("1", Duration::ZERO),
            &no_progress,
        )
        .await
        .unwrap();
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    assert_eq!(pool.count(), 2);

    let always = FakePool::start_https(|_, _| status(401)).await;
    let target = PoolTarget::new(&always.endpoint(), Api::Executions, None, "").unwrap();
    let (credentials, calls) = bearer();
    let error = client_for(&always)
        .execute(
            &target,
            &credentials,
            &request("1", Duration::ZERO),
            &no_progress,
        )
        .await
        .unwrap_err();
    assert_eq!(always.count(), 2, "one retry with a fresh token, then stop");
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    assert!(error.to_string().contains("az login"), "{error}");
    assert!(
        error.to_string().contains("https://dynamicsessions.io"),
        "{error}"
    );
    assert!(!error.to_string().contains(FAKE_TOKEN));
}

#[tokio::test]
async fn a_403_names_the_role() {
    let pool = FakePool::start_https(|_, _| status(403)).await;
    let target = PoolTarget::new(&pool.endpoint(), Api::Executions, None, "").unwrap();
    let (credentials, _) = bearer();
    let error = client_for(&pool)
        .execute(
            &target,
            &credentials,
            &request("1", Duration::ZERO),
            &no_progress,
        )
        .await
        .unwrap_err();
    assert!(
        error
            .to_string()
            .contains("Azure ContainerApps Session Executor"),
        "{error}"
    );
    assert_eq!(pool.count(), 1);
}

#[tokio::test]
async fn a_404_says_to_check_the_endpoint() {
    let pool = FakePool::start(|_, _| status(404)).await;
    let target = PoolTarget::new(&pool.endpoint(), Api::Custom, None, "{language}/run").unwrap();
    let error = client()
        .execute(
            &target,
            &Credentials::None,
            &request("1", Duration::ZERO),
            &no_progress,
        )
        .await
        .unwrap_err();
    let text = error.to_string();
    assert!(
        text.contains("/python/run")
            && text.contains("azureSessions.endpoint")
            && text.contains("customPath"),
        "{text}"
    );
}

#[tokio::test]
async fn a_slow_server_hits_the_timeout_and_is_not_retried() {
    let pool = FakePool::start(|_, _| {
        Reply::Delay(
            Duration::from_secs(60),
            Box::new(executions_ok("", json!(null))),
        )
    })
    .await;
    let target = PoolTarget::new(&pool.endpoint(), Api::Executions, None, "").unwrap();
    let mut req = request("1", Duration::from_secs(30));
    // The HTTP timeout is 1 s + 5 s of margin.
    req.timeout = Duration::from_secs(1);
    // The HTTP timeout is the execution timeout plus a margin; bound the test around it.
    let started = Instant::now();
    let outcome = tokio::time::timeout(
        Duration::from_secs(20),
        client().execute(&target, &Credentials::None, &req, &no_progress),
    )
    .await
    .expect("the client gives up by itself");
    let error = outcome.unwrap_err();
    assert!(matches!(error, SessionsError::Timeout { .. }), "{error}");
    assert!(
        error.to_string().contains("may still be running"),
        "{error}"
    );
    assert!(started.elapsed() >= Duration::from_secs(5));
    assert_eq!(
        pool.count(),
        1,
        "a request that timed out after it was sent is never sent again"
    );
}

#[tokio::test]
async fn malformed_json_gives_a_clear_error() {
    let pool =
        FakePool::start(|_, _| Reply::Raw(200, vec![], b"{\"status\": \"Succ".to_vec())).await;
    let target = PoolTarget::new(&pool.endpoint(), Api::Executions, None, "").unwrap();
    let error = client()
        .execute(
            &target,
            &Credentials::None,
            &request("1", Duration::ZERO),
            &no_progress,
        )
        .await
        .unwrap_err();
    assert!(
        matches!(error, SessionsError::MalformedResponse(_)),
        "{error}"
    );
    assert!(error.to_string().contains("could not be read"), "{error}");
}

#[tokio::test]
async fn accepts_202() {
    let pool = FakePool::start(|_, _| {
        Reply::Json(
            202,
            json!({"status": "Succeeded", "result": {"stdout": "x", "stderr": ""}}),
        )
    })
    .await;
    let target = PoolTarget::new(&pool.endpoint(), Api::Executions, None, "").unwrap();
    let execution = client()
        .execute(
            &target,
            &Credentials::None,
            &request("1", Duration::ZERO),
            &no_progress,
        )
        .await
        .unwrap();
    assert_eq!(execution.stdout, "x");
}

#[tokio::test]
async fn refused_connections_are_retried_then_reported() {
    // A port with nothing listening.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let target = PoolTarget::new(
        &format!("http://127.0.0.1:{port}"),
        Api::Executions,
        None,
        "",
    )
    .unwrap();
    let retries = Arc::new(AtomicUsize::new(0));
    let counter = retries.clone();
    let progress = move |_: RetryNotice| {
        counter.fetch_add(1, Ordering::SeqCst);
    };
    let error = client()
        .execute(
            &target,
            &Credentials::None,
            &request("1", Duration::from_millis(600)),
            &progress,
        )
        .await
        .unwrap_err();
    assert!(
        matches!(error, SessionsError::Unreachable { .. }),
        "{error}"
    );
    assert!(error.to_string().contains("connection refused"), "{error}");
    assert!(retries.load(Ordering::SeqCst) >= 1);
}

#[tokio::test]
async fn files_and_session_calls_of_both_generations() {
    let pool = FakePool::start(|req, _| match (req.method.as_str(), req.path.as_str()) {
        ("POST", "/files") => Reply::Json(200, json!({"name": "data.csv", "type": "file", "sizeInBytes": 5, "lastModifiedAt": "t"})),
        ("GET", "/files") => Reply::Json(200, json!({"value": [{"name": "data.csv", "type": "file", "sizeInBytes": 5, "lastModifiedAt": "t"}], "nextLink": null})),
        ("GET", "/files/data.csv/content") => Reply::Raw(200, vec![], b"a,b\n1".to_vec()),
        ("POST", "/files/upload") => Reply::Json(200, json!({"$id":"1","value":[{"$id":"2","properties":{"$id":"3","filename":"data.csv","size":5,"lastModifiedTime":"t"}}]})),
        ("GET", "/files/content/data.csv") => Reply::Raw(200, vec![], b"a,b\n1".to_vec()),
        ("GET", "/session") => Reply::Json(200, json!({"identifier": "x", "createdAt": "2026-01-01T00:00:00Z", "etag": "e1"})),
        ("DELETE", "/session") => status(204),
        _ => status(404),
    })
    .await;
    let c = client();
    for api in [Api::Executions, Api::Legacy] {
        let target = PoolTarget::new(&pool.endpoint(), api, None, "").unwrap();
        let uploaded = c
            .upload_file(
                &target,
                &Credentials::None,
                "id-1234",
                "data.csv",
                Bytes::from_static(b"a,b\n1"),
            )
            .await
            .unwrap();
        assert_eq!(
            (uploaded.name.as_str(), uploaded.size),
            ("data.csv", Some(5))
        );
        let files = c
            .list_files(&target, &Credentials::None, "id-1234")
            .await
            .unwrap();
        assert_eq!(files[0].name, "data.csv");
        let content = c
            .download_file(&target, &Credentials::None, "id-1234", "data.csv")
            .await
            .unwrap();
        assert_eq!(&content[..], b"a,b\n1");
        let session = c
            .get_session(&target, &Credentials::None, "id-1234")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(session.etag.as_deref(), Some("e1"));
        c.delete_session(&target, &Credentials::None, "id-1234")
            .await
            .unwrap();
    }
    let requests = pool.requests();
    let upload = requests.iter().find(|r| r.path == "/files/upload").unwrap();
    assert!(
        upload
            .header("content-type")
            .unwrap()
            .starts_with("multipart/form-data")
    );
    assert!(String::from_utf8_lossy(&upload.body).contains("name=\"file\"; filename=\"data.csv\""));
    let delete = requests.iter().find(|r| r.method == "DELETE").unwrap();
    assert_eq!(delete.query["api-version"], "2025-10-02-preview");
    assert_eq!(delete.query["identifier"], "id-1234");
}

#[tokio::test]
async fn oversized_answers_are_cut_with_a_note() {
    let stdout = "y".repeat(3 << 20);
    // Azure writes `status` before `result`.
    let body = format!(
        r#"{{"id":"x","status":"Succeeded","result":{{"stdout":"{stdout}","stderr":""}}}}"#
    )
    .into_bytes();
    let pool = FakePool::start(move |_, _| Reply::Raw(200, vec![], body.clone())).await;
    let target = PoolTarget::new(&pool.endpoint(), Api::Executions, None, "").unwrap();
    let execution = client()
        .with_max_response_bytes(1 << 20)
        .execute(
            &target,
            &Credentials::None,
            &request("1", Duration::ZERO),
            &no_progress,
        )
        .await
        .unwrap();
    assert_eq!(execution.status, ExecutionStatus::Succeeded);
    assert!(execution.stdout.len() < (1 << 20) + 200);
    assert!(execution.stdout.starts_with("yyyy"));
    assert!(execution.stdout.ends_with(
        "[output cut: the pool's answer was larger than 1 MiB; the rest was not read]\n"
    ));
}

#[tokio::test]
async fn oversized_answers_that_are_not_json_are_refused() {
    let pool = FakePool::start(|_, _| Reply::Raw(200, vec![], vec![b'x'; 3 << 20])).await;
    let target = PoolTarget::new(&pool.endpoint(), Api::Executions, None, "").unwrap();
    let error = client()
        .with_max_response_bytes(1 << 20)
        .execute(
            &target,
            &Credentials::None,
            &request("1", Duration::ZERO),
            &no_progress,
        )
        .await
        .unwrap_err();
    assert!(
        matches!(error, SessionsError::ResponseTooLarge { .. }),
        "{error}"
    );
}

// ---------------------------------------------------------------------------------------------
// Where tokens go (security review #4, #5, #6, #9, #10)

#[tokio::test]
async fn a_token_is_never_sent_over_plain_http() {
    let pool = FakePool::start(|_, _| executions_ok("ok", json!(null))).await;
    let target = PoolTarget::new(&pool.endpoint(), Api::Executions, None, "").unwrap();
    let (credentials, calls) = bearer();
    let error = client()
        .execute(
            &target,
            &credentials,
            &request("1", Duration::ZERO),
            &no_progress,
        )
        .await
        .unwrap_err();
    assert_eq!(pool.count(), 0, "nothing was sent");
    assert_eq!(calls.load(Ordering::SeqCst), 0, "no token was even fetched");
    assert!(error.to_string().contains("plain http"), "{error}");
}

#[tokio::test]
async fn the_pool_key_goes_only_to_plain_http_loopback() {
    let pool = FakePool::start(|_, _| executions_ok("ok", json!(null))).await;
    let target = PoolTarget::new(&pool.endpoint(), Api::Executions, None, "").unwrap();
    let key = Credentials::PoolKey("local-k3y".into());
    client()
        .execute(&target, &key, &request("1", Duration::ZERO), &no_progress)
        .await
        .unwrap();
    assert_eq!(
        pool.requests()[0].header("authorization").as_deref(),
        Some("Bearer local-k3y")
    );

    let https = FakePool::start_https(|_, _| executions_ok("ok", json!(null))).await;
    let target = PoolTarget::new(&https.endpoint(), Api::Executions, None, "").unwrap();
    client_for(&https)
        .execute(&target, &key, &request("1", Duration::ZERO), &no_progress)
        .await
        .unwrap();
    assert_eq!(https.requests()[0].header("authorization"), None);
}

#[tokio::test]
async fn a_401_from_a_plain_http_pool_asks_for_its_key() {
    let pool = FakePool::start(|_, _| status(401)).await;
    let target = PoolTarget::new(&pool.endpoint(), Api::Executions, None, "").unwrap();
    let error = client()
        .execute(
            &target,
            &Credentials::None,
            &request("1", Duration::ZERO),
            &no_progress,
        )
        .await
        .unwrap_err();
    let text = error.to_string();
    assert!(text.contains("AZURE_SESSIONS_POOL_KEY"), "{text}");
    assert!(!text.contains("az login"), "{text}");
}

#[tokio::test]
async fn redirects_are_not_followed() {
    let elsewhere = FakePool::start(|_, _| executions_ok("moved", json!(null))).await;
    let location = format!("http://127.0.0.2:{}/executions", elsewhere.addr.port());
    let pool = FakePool::start_https(move |_, _| {
        Reply::Raw(307, vec![("location", location.clone())], Vec::new())
    })
    .await;
    let target = PoolTarget::new(&pool.endpoint(), Api::Executions, None, "").unwrap();
    let (credentials, _) = bearer();
    let error = client_for(&pool)
        .execute(
            &target,
            &credentials,
            &request("secret_code()", Duration::ZERO),
            &no_progress,
        )
        .await
        .unwrap_err();
    let text = error.to_string();
    assert!(
        text.contains("redirect") && text.contains("127.0.0.2"),
        "{text}"
    );
    assert_eq!(pool.count(), 1);
    assert_eq!(
        elsewhere.count(),
        0,
        "the code never reached the other host"
    );
}

#[tokio::test]
async fn a_successful_answer_that_echoes_the_token_is_scrubbed() {
    let pool = FakePool::start_https(|req, _| {
        let seen = req.header("authorization").unwrap_or_default();
        executions_ok(
            &format!("headers seen: Authorization: {seen}\n"),
            json!(seen),
        )
    })
    .await;
    let target = PoolTarget::new(&pool.endpoint(), Api::Executions, None, "").unwrap();
    let (credentials, _) = bearer();
    let execution = client_for(&pool)
        .execute(
            &target,
            &credentials,
            &request("1", Duration::ZERO),
            &no_progress,
        )
        .await
        .unwrap();
    assert!(
        !execution.stdout.contains(FAKE_TOKEN),
        "{}",
        execution.stdout
    );
    assert!(
        execution.stdout.contains("[redacted]"),
        "{}",
        execution.stdout
    );
    assert!(!execution.result.to_string().contains(FAKE_TOKEN));
}

#[tokio::test]
async fn retry_after_values_that_do_not_fit_give_up_cleanly() {
    for value in ["1e300", "2e19", "-5", "soon"] {
        let value = value.to_owned();
        let pool = FakePool::start(move |_, n| {
            if n == 0 {
                Reply::Raw(503, vec![("retry-after", value.clone())], Vec::new())
            } else {
                executions_ok("ok", json!(null))
            }
        })
        .await;
        let target = PoolTarget::new(&pool.endpoint(), Api::Executions, None, "").unwrap();
        // Must not panic: a huge value gives up at once, others retry within the budget.
        let _ = client()
            .execute(
                &target,
                &Credentials::None,
                &request("1", Duration::from_secs(2)),
                &no_progress,
            )
            .await;
    }
}
