//! The local pool against real HTTP requests: `LocalPool::start` on port 0, reqwest as client.

use std::time::{Duration, Instant};

use azure_sessions_lsp::pool::{Language, LocalPool, PoolOptions};
use serde_json::{Value, json};

const API: &str = "2025-10-02-preview";
const LEGACY: &str = "2024-02-02-preview";

struct Pool {
    pool: LocalPool,
    http: reqwest::Client,
}

async fn start(opts: PoolOptions) -> Pool {
    let pool = tokio::time::timeout(Duration::from_secs(20), LocalPool::start(opts))
        .await
        .expect("the pool starts in time")
        .expect("the pool starts");
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        reqwest::header::AUTHORIZATION,
        format!("Bearer {}", pool.key()).parse().unwrap(),
    );
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .no_proxy()
        .default_headers(headers)
        .build()
        .expect("client");
    Pool { pool, http }
}

async fn python() -> Pool {
    start(PoolOptions::default()).await
}

fn node_available() -> bool {
    let found = std::process::Command::new("node")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        eprintln!("note: node is not installed; skipping this JavaScript test");
    }
    found
}

impl Pool {
    fn url(&self, path: &str, api: Option<&str>, id: Option<&str>) -> String {
        let mut query = Vec::new();
        if let Some(api) = api {
            query.push(format!("api-version={api}"));
        }
        if let Some(id) = id {
            query.push(format!("identifier={id}"));
        }
        format!("{}{path}?{}", self.pool.endpoint(), query.join("&"))
    }

    async fn post_json(&self, url: String, body: Value) -> reqwest::Response {
        self.http
            .post(url)
            .json(&body)
            .send()
            .await
            .expect("request")
    }

    /// `POST /executions` with a flat body; returns the resource.
    async fn exec_with(&self, id: &str, body: Value) -> Value {
        let response = self
            .post_json(self.url("/executions", Some(API), Some(id)), body)
            .await;
        // Azure's recorded answer to a synchronous run: 202 with the final result.
        assert_eq!(response.status(), 202);
        response.json().await.expect("json")
    }

    async fn exec(&self, id: &str, code: &str) -> Value {
        self.exec_with(
            id,
            json!({"codeInputType": "Inline", "executionType": "Synchronous", "code": code}),
        )
        .await
    }

    async fn session(&self, id: &str) -> Value {
        let response = self
            .http
            .get(self.url("/session", Some(API), Some(id)))
            .send()
            .await
            .expect("request");
        assert_eq!(response.status(), 200);
        response.json().await.expect("json")
    }

    async fn upload(
        &self,
        path: &str,
        api: &str,
        id: &str,
        name: &str,
        data: &[u8],
    ) -> reqwest::Response {
        let part = reqwest::multipart::Part::bytes(data.to_vec())
            .file_name(name.to_string())
            .mime_str("application/octet-stream")
            .expect("mime");
        let form = reqwest::multipart::Form::new().part("file", part);
        self.http
            .post(self.url(path, Some(api), Some(id)))
            .multipart(form)
            .send()
            .await
            .expect("request")
    }

    async fn get(&self, path: &str, api: Option<&str>, id: Option<&str>) -> reqwest::Response {
        self.http
            .get(self.url(path, api, id))
            .send()
            .await
            .expect("request")
    }
}

fn stdout(v: &Value) -> &str {
    v["result"]["stdout"].as_str().unwrap_or_default()
}

fn stderr(v: &Value) -> &str {
    v["result"]["stderr"].as_str().unwrap_or_default()
}

#[tokio::test]
async fn state_persists_within_a_session_and_not_across_sessions() {
    let p = python().await;
    let a = p.exec("session-a", "x = 41\nprint('set')").await;
    assert_eq!(a["status"], "Succeeded", "{a}");
    assert_eq!(stdout(&a), "set\n");
    assert_eq!(a["identifier"], "session-a");
    assert_eq!(a["executionType"], "Synchronous");

    let again = p.exec("session-a", "x + 1").await;
    assert_eq!(again["result"]["executionResult"], 42);

    let other = p.exec("session-b", "x").await;
    assert_eq!(other["status"], "Failed");
    assert!(stderr(&other).contains("NameError"), "{other}");
    p.pool.shutdown().await;
}

#[tokio::test]
async fn asynchronous_executions_are_long_running_operations() {
    let p = python().await;
    let started = p
        .http
        .post(p.url("/executions", Some(API), Some("async-1")))
        .header("operation-id", "op-async-7")
        .json(&json!({"executionType": "Asynchronous", "code": "import time\ntime.sleep(0.5)\nprint('slow')"}))
        .send()
        .await
        .expect("request");
    assert_eq!(started.status(), 202);
    assert_eq!(started.headers()["operation-id"], "op-async-7");
    let location = started.headers()["operation-location"]
        .to_str()
        .unwrap()
        .to_owned();
    let v: Value = started.json().await.expect("json");
    assert_eq!(v["status"], "Running");
    let id = v["id"].as_str().unwrap().to_owned();
    assert_eq!(
        location,
        format!("/executions/{id}?api-version={API}&identifier=async-1")
    );
    let poll = || async {
        let r = p
            .http
            .get(format!("{}{location}", p.pool.endpoint()))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        r.json::<Value>().await.unwrap()
    };
    assert_eq!(poll().await["status"], "Running");
    let deadline = Instant::now() + Duration::from_secs(20);
    let done = loop {
        let now = poll().await;
        if now["status"] != "Running" || Instant::now() > deadline {
            break now;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(done["status"], "Succeeded", "{done}");
    assert_eq!(done["result"]["stdout"], "slow\n");
    p.pool.shutdown().await;
}

#[tokio::test]
async fn final_expression_is_the_result() {
    let p = python().await;
    assert_eq!(
        p.exec("results", "6*7").await["result"]["executionResult"],
        42
    );
    assert_eq!(
        p.exec("results", "'hi' + '!'").await["result"]["executionResult"],
        "hi!"
    );
    assert_eq!(
        p.exec("results", "None").await["result"]["executionResult"],
        "",
        "no value is \"\" on the executions API, as recorded"
    );
    assert_eq!(
        p.exec("results", "y = 3").await["result"]["executionResult"],
        ""
    );
    assert_eq!(
        p.exec("results", "{'a': [1, 2]}").await["result"]["executionResult"],
        json!({"a": [1, 2]})
    );
    assert_eq!(
        p.exec("results", "object").await["result"]["executionResult"],
        "<class 'object'>"
    );
    // Top-level await works as in Jupyter.
    let awaited = p
        .exec("results", "import asyncio\nawait asyncio.sleep(0)\n5")
        .await;
    assert_eq!(awaited["result"]["executionResult"], 5, "{awaited}");
    // An object with _repr_png_ comes back as an image.
    let image = p
        .exec(
            "results",
            "class P:\n    def _repr_png_(self):\n        return b'\\x89PNG'\nP()",
        )
        .await;
    assert_eq!(image["result"]["executionResult"]["type"], "image");
    assert_eq!(image["result"]["executionResult"]["format"], "png");
    assert_eq!(
        image["result"]["executionResult"]["base64_data"],
        "iVBORw=="
    );
    p.pool.shutdown().await;
}

#[tokio::test]
async fn exceptions_give_a_traceback_of_the_submitted_code() {
    let p = python().await;
    let r = p.exec("traces", "a = 1\nb = 0\nc = a / b\n").await;
    assert_eq!(r["status"], "Failed");
    let err = stderr(&r);
    assert!(
        err.starts_with("Traceback (most recent call last):"),
        "{err}"
    );
    // Each run's code is a file of its own.
    assert!(
        err.contains("File \"<run-1>\", line 3, in <module>"),
        "{err}"
    );
    assert!(err.contains("ZeroDivisionError: division by zero"), "{err}");
    assert!(
        !err.contains("worker.py"),
        "worker frames must be hidden: {err}"
    );

    let nested = p
        .exec("traces", "def f():\n    raise ValueError('bad')\n\nf()")
        .await;
    let err = stderr(&nested);
    assert!(
        err.contains("line 4, in <module>") && err.contains("line 2, in f"),
        "{err}"
    );

    let syntax = p.exec("traces", "x = 1\ny = = 2\n").await;
    assert_eq!(syntax["status"], "Failed");
    let err = stderr(&syntax);
    assert!(err.contains("File \"<run-3>\", line 2"), "{err}");
    assert!(err.contains("SyntaxError"), "{err}");

    // The session still works afterwards.
    assert_eq!(p.exec("traces", "a").await["result"]["executionResult"], 1);
    p.pool.shutdown().await;
}

#[tokio::test]
async fn a_timeout_kills_the_interpreter_and_the_next_run_is_fresh() {
    let p = python().await;
    p.exec("slow", "kept = 1").await;
    let before = p.session("slow").await;

    let started = Instant::now();
    let r = p
        .exec_with(
            "slow",
            json!({"code": "while True: pass", "timeoutInSeconds": 1}),
        )
        .await;
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(r["status"], "Failed");
    assert_eq!(
        stderr(&r),
        "Request timed out waiting for code execution to complete"
    );
    let ms = r["result"]["executionTimeInMilliseconds"]
        .as_u64()
        .unwrap_or(0);
    assert!((900..5000).contains(&ms), "{ms}");

    let next = p.exec("slow", "print('again')").await;
    assert_eq!(next["status"], "Succeeded", "{next}");
    assert!(
        stderr(&next).starts_with("[local pool] The previous interpreter of this session ended ("),
        "{next}"
    );
    assert!(stderr(&next).contains("earlier variables are gone"));
    assert_eq!(stdout(&next), "again\n");
    let gone = p.exec("slow", "kept").await;
    assert!(stderr(&gone).contains("NameError"), "{gone}");

    let after = p.session("slow").await;
    assert_ne!(before["etag"], after["etag"]);
    assert_ne!(before["createdAt"], after["createdAt"]);
    p.pool.shutdown().await;
}

#[tokio::test]
async fn an_interpreter_that_exits_is_reported_and_replaced() {
    let p = python().await;
    let r = p
        .exec("exits", "import os\nprint('bye', flush=True)\nos._exit(3)")
        .await;
    assert_eq!(r["status"], "Failed");
    assert_eq!(stdout(&r), "bye\n");
    assert!(
        stderr(&r).contains("the interpreter exited with code 3"),
        "{r}"
    );

    let next = p.exec("exits", "1 + 1").await;
    assert_eq!(next["status"], "Succeeded");
    assert_eq!(next["result"]["executionResult"], 2);
    assert!(
        stderr(&next).contains("(the interpreter exited with code 3)"),
        "{next}"
    );
    // The note comes once.
    assert_eq!(stderr(&p.exec("exits", "2").await), "");
    p.pool.shutdown().await;
}

#[tokio::test]
async fn legacy_code_execute_has_azures_shape() {
    let p = python().await;
    let body = json!({"properties": {"codeInputType": "inline", "executionType": "synchronous", "code": "print('hello world')\n6 * 7"}});
    let response = p
        .post_json(p.url("/code/execute", Some(LEGACY), Some("legacy")), body)
        .await;
    assert_eq!(response.status(), 200);
    let v: Value = response.json().await.expect("json");
    assert_eq!(v["$id"], "1");
    assert_eq!(v["properties"]["$id"], "2");
    assert_eq!(v["properties"]["status"], "Success");
    assert_eq!(v["properties"]["stdout"], "hello world\n");
    assert_eq!(v["properties"]["stderr"], "");
    assert_eq!(v["properties"]["result"], 42);
    assert!(v["properties"]["executionTimeInMilliseconds"].is_u64());

    let failed = p
        .post_json(
            p.url("/code/execute", Some(LEGACY), Some("legacy")),
            json!({"properties": {"code": "1/0"}}),
        )
        .await;
    let v: Value = failed.json().await.expect("json");
    assert_eq!(v["properties"]["status"], "Failure");
    p.pool.shutdown().await;
}

#[tokio::test]
async fn executions_accept_flat_and_wrapped_bodies_and_answer_like_the_recordings() {
    let p = python().await;
    let flat = p
        .http
        .post(p.url("/executions", Some(API), Some("bodies")))
        .json(&json!({"codeInputType": "inline", "executionType": "synchronous", "code": "print('Hello world')", "timeoutInSeconds": 60}))
        .send()
        .await
        .expect("request");
    // As recorded (R2-R4): 202 with the final result, no Operation-Location or operation-id,
    // the timing headers in decimal milliseconds, a session GUID, `$id` markers, the request's
    // casing echoed, and "" for no value.
    assert_eq!(flat.status(), 202);
    let headers = flat.headers().clone();
    assert!(!headers.contains_key("operation-location"));
    assert!(!headers.contains_key("operation-id"));
    let guid = headers["x-ms-session-guid"].to_str().unwrap().to_owned();
    assert!(uuid::Uuid::parse_str(&guid).is_ok(), "{guid}");
    for name in [
        "x-ms-overall-execution-time",
        "x-ms-allocation-time",
        "x-ms-preparation-time",
    ] {
        let value = headers[name].to_str().unwrap();
        assert!(
            value.parse::<f64>().is_ok() && value.contains('.'),
            "{name}: {value}"
        );
    }
    assert!(
        headers["x-ms-container-execution-duration"]
            .to_str()
            .unwrap()
            .parse::<u64>()
            .is_ok()
    );
    let v: Value = flat.json().await.expect("json");
    assert_eq!(v["$id"], "1");
    assert_eq!(v["result"]["$id"], "2");
    assert_eq!(v["executionType"], "synchronous");
    assert_eq!(v["status"], "Succeeded");
    assert_eq!(v["result"]["stdout"], "Hello world\n");
    assert_eq!(v["result"]["executionResult"], "");
    let id = v["id"].as_str().expect("id").to_owned();
    assert!(uuid::Uuid::parse_str(&id).is_ok());

    let wrapped = p
        .exec_with("bodies", json!({"properties": {"code": "2"}}))
        .await;
    assert_eq!(wrapped["result"]["executionResult"], 2);

    // The stored record of the first execution.
    let record = p
        .get(&format!("/executions/{id}"), Some(API), Some("bodies"))
        .await;
    assert_eq!(record.status(), 200);
    let record: Value = record.json().await.expect("json");
    assert_eq!(record["result"]["stdout"], "Hello world\n");
    let unknown = p.get("/executions/nope", Some(API), Some("bodies")).await;
    assert_eq!(unknown.status(), 404);
    assert!(unknown.headers().contains_key("x-ms-error-code"));

    // Not JSON, or no code: SessionPropertiesMissing.
    for body in [
        "not json",
        r#"{"properties":{}}"#,
        r#"{"codeInputType":"Inline"}"#,
    ] {
        let r = p
            .http
            .post(p.url("/executions", Some(API), Some("bodies")))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .expect("request");
        assert_eq!(r.status(), 400);
        assert_eq!(r.headers()["x-ms-error-code"], "SessionPropertiesMissing");
        let e: Value = r.json().await.expect("json");
        assert_eq!(e["error"]["message"], "code is required but not provided");
        assert!(e["error"]["traceId"].is_string());
    }
    p.pool.shutdown().await;
}

#[tokio::test]
async fn output_streams_are_truncated_to_the_requested_length() {
    let p = python().await;
    let r = p
        .exec_with(
            "trunc",
            json!({"code": "print('x' * 100)\nimport sys\nsys.stderr.write('e' * 50)", "outputStreamsMaxLength": 10}),
        )
        .await;
    assert_eq!(stdout(&r), "xxxxxxxxxx");
    assert_eq!(stderr(&r), "eeeeeeeeee");
    let default = p.exec("trunc", "print('y' * 5000)").await;
    assert_eq!(stdout(&default).len(), 4096);
    p.pool.shutdown().await;
}

#[tokio::test]
async fn request_validation_errors_look_like_azure() {
    let p = python().await;
    let bad_id = p
        .post_json(
            p.url("/executions", Some(API), Some("ab")),
            json!({"code": "1"}),
        )
        .await;
    assert_eq!(bad_id.status(), 400);
    assert_eq!(
        bad_id.headers()["x-ms-error-code"],
        "SessionRequestValidationFailed"
    );
    let e: Value = bad_id.json().await.expect("json");
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("identifier")
    );

    let no_id = p
        .post_json(p.url("/executions", Some(API), None), json!({"code": "1"}))
        .await;
    assert_eq!(no_id.status(), 400);
    assert_eq!(
        no_id.headers()["x-ms-error-code"],
        "SessionRequestValidationFailed"
    );

    let no_api = p
        .post_json(
            p.url("/executions", None, Some("valid-id")),
            json!({"code": "1"}),
        )
        .await;
    assert_eq!(no_api.status(), 400);
    assert_eq!(
        no_api.headers()["x-ms-error-code"],
        "SessionRequestValidationFailed"
    );
    let e: Value = no_api.json().await.expect("json");
    assert_eq!(e["error"]["message"], "api-version is required");

    let bad_api = p.get("/files", Some("yesterday"), Some("valid-id")).await;
    assert_eq!(bad_api.status(), 400);
    assert_eq!(bad_api.headers()["x-ms-error-code"], "InvalidApiVersion");

    let unknown = p.get("/nowhere", Some(API), Some("valid-id")).await;
    assert_eq!(unknown.status(), 404);
    assert!(unknown.headers().contains_key("x-ms-error-code"));

    let missing = p.get("/session", Some(API), Some("never-seen")).await;
    assert_eq!(missing.status(), 404);
    assert_eq!(missing.headers()["x-ms-error-code"], "SessionNotFound");

    let stop = p
        .http
        .post(p.url("/.management/stopSession", Some(API), Some("never-seen")))
        .send()
        .await
        .expect("request");
    assert_eq!(stop.status(), 400);
    assert_eq!(
        stop.headers()["x-ms-error-code"],
        "SessionWithIdentifierNotFound"
    );
    p.pool.shutdown().await;
}

#[tokio::test]
async fn files_round_trip_in_the_new_api() {
    let p = python().await;
    let up = p
        .upload("/files", API, "files-new", "data.csv", b"a,b\n1,2\n")
        .await;
    assert_eq!(up.status(), 200);
    let f: Value = up.json().await.expect("json");
    assert_eq!(f["name"], "data.csv");
    assert_eq!(f["type"], "file");
    assert_eq!(f["sizeInBytes"], 8);
    assert_eq!(f["contentType"], "text/csv");
    assert!(f["lastModifiedAt"].is_string());

    // Code sees uploaded files in its working directory, and files it writes are listed.
    let r = p
        .exec(
            "files-new",
            "open('out.txt', 'w').write('written')\nopen('data.csv').read()",
        )
        .await;
    assert_eq!(r["result"]["executionResult"], "a,b\n1,2\n", "{r}");

    let list: Value = p
        .get("/files", Some(API), Some("files-new"))
        .await
        .json()
        .await
        .expect("json");
    let names: Vec<&str> = list["value"]
        .as_array()
        .expect("value")
        .iter()
        .filter_map(|f| f["name"].as_str())
        .collect();
    assert_eq!(names, ["data.csv", "out.txt"]);
    assert_eq!(list["nextLink"], Value::Null);

    let meta: Value = p
        .get("/files/out.txt", Some(API), Some("files-new"))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(meta["sizeInBytes"], 7);
    let content = p
        .get("/files/out.txt/content", Some(API), Some("files-new"))
        .await;
    assert_eq!(content.status(), 200);
    assert_eq!(
        content.headers()["content-type"],
        "application/octet-stream"
    );
    assert_eq!(content.bytes().await.expect("bytes").as_ref(), b"written");

    let deleted = p
        .http
        .delete(p.url("/files/out.txt", Some(API), Some("files-new")))
        .send()
        .await
        .expect("request");
    assert_eq!(deleted.status(), 204);
    assert_eq!(
        p.get("/files/out.txt", Some(API), Some("files-new"))
            .await
            .status(),
        404
    );
    assert_eq!(
        p.get("/files/out.txt/content", Some(API), Some("files-new"))
            .await
            .status(),
        404
    );
    p.pool.shutdown().await;
}

#[tokio::test]
async fn files_round_trip_in_the_legacy_api() {
    let p = python().await;
    let up = p
        .upload(
            "/files/upload",
            LEGACY,
            "files-old",
            "/mnt/data/notes.txt",
            b"hello",
        )
        .await;
    assert_eq!(up.status(), 200);
    let v: Value = up.json().await.expect("json");
    assert_eq!(v["$id"], "1");
    assert_eq!(v["value"][0]["properties"]["filename"], "notes.txt");
    assert_eq!(v["value"][0]["properties"]["size"], 5);
    assert!(v["value"][0]["properties"]["lastModifiedTime"].is_string());

    p.exec("files-old", "open('made.txt', 'w').write('abc')")
        .await;
    let list: Value = p
        .get("/files", Some(LEGACY), Some("files-old"))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(list["$id"], "1");
    let names: Vec<&str> = list["value"]
        .as_array()
        .expect("value")
        .iter()
        .filter_map(|f| f["properties"]["filename"].as_str())
        .collect();
    assert_eq!(names, ["made.txt", "notes.txt"]);

    let content = p
        .get("/files/content/notes.txt", Some(LEGACY), Some("files-old"))
        .await;
    assert_eq!(content.status(), 200);
    assert_eq!(content.bytes().await.expect("bytes").as_ref(), b"hello");
    assert_eq!(
        p.get(
            "/files/content/missing.txt",
            Some(LEGACY),
            Some("files-old")
        )
        .await
        .status(),
        404
    );
    p.pool.shutdown().await;
}

#[tokio::test]
async fn path_traversal_is_refused() {
    let p = python().await;
    for name in ["../escape.txt", "..", "a/b.txt", "..\\x"] {
        let up = p.upload("/files", API, "traversal", name, b"x").await;
        assert_eq!(up.status(), 400, "{name}");
        assert_eq!(up.headers()["x-ms-error-code"], "FilePathInvalid");
    }
    for path in [
        "/files/..%2F..%2Fetc%2Fpasswd/content",
        "/files/%2E%2E/content",
        "/files/..",
        "/files/content/..%2Fx",
    ] {
        let r = p.get(path, Some(API), Some("traversal")).await;
        assert!(
            r.status() == 400 || r.status() == 404,
            "{path}: {}",
            r.status()
        );
        assert!(r.headers().contains_key("x-ms-error-code"));
    }
    let bad_dir = p.get("/files", Some(API), Some("traversal")).await;
    assert_eq!(bad_dir.status(), 200);
    let escape = p
        .http
        .get(format!(
            "{}&path=../..",
            p.url("/files", Some(API), Some("traversal"))
        ))
        .send()
        .await
        .expect("request");
    assert_eq!(escape.status(), 400);
    p.pool.shutdown().await;
}

#[tokio::test]
async fn deleting_a_session_gives_a_fresh_one() {
    let p = python().await;
    p.exec("deleted", "v = 1\nopen('f.txt', 'w').write('x')")
        .await;
    let deleted = p
        .http
        .delete(p.url("/session", Some(API), Some("deleted")))
        .send()
        .await
        .expect("request");
    assert_eq!(deleted.status(), 204);
    assert_eq!(
        p.get("/session", Some(API), Some("deleted")).await.status(),
        404
    );
    let r = p.exec("deleted", "v").await;
    assert!(stderr(&r).contains("NameError"), "{r}");
    assert!(
        !stderr(&r).contains("[local pool]"),
        "a new session has no note: {r}"
    );
    let list: Value = p
        .get("/files", Some(API), Some("deleted"))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(list["value"], json!([]));

    // Session views.
    let s = p.session("deleted").await;
    for key in [
        "identifier",
        "createdAt",
        "lastAccessedAt",
        "expireAt",
        "etag",
    ] {
        assert!(s.get(key).is_some(), "{key} in {s}");
    }
    let listed: Value = p
        .get("/listSessions", Some(API), None)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(listed["sessions"][0]["identifier"], "deleted");
    let mgmt: Value = p
        .http
        .post(p.url("/.management/getSession", Some(API), Some("deleted")))
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("json");
    assert!(mgmt["expiresAt"].is_string());
    let stop = p
        .http
        .post(p.url("/.management/stopSession", Some(API), Some("deleted")))
        .send()
        .await
        .expect("request");
    assert_eq!(stop.status(), 200);
    assert_eq!(
        stop.text().await.expect("text"),
        "Session deleted in session pool local stopped."
    );
    let meta: Value = p
        .get("/metadata", Some(API), None)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(meta["runtimes"][0]["name"], "python");
    p.pool.shutdown().await;
}

#[tokio::test]
async fn executions_of_one_session_are_serialized() {
    let p = python().await;
    p.exec("serial", "import time").await;
    let started = Instant::now();
    let code = "import time; time.sleep(0.5)";
    let (a, b) = tokio::join!(p.exec("serial", code), p.exec("serial", code));
    assert_eq!(a["status"], "Succeeded");
    assert_eq!(b["status"], "Succeeded");
    assert!(
        started.elapsed() >= Duration::from_millis(1000),
        "{:?}",
        started.elapsed()
    );
    p.pool.shutdown().await;
}

#[tokio::test]
async fn different_sessions_run_in_parallel() {
    let p = python().await;
    // Warm both interpreters so that start-up time does not count.
    tokio::join!(p.exec("par-1", "1"), p.exec("par-2", "1"));
    let started = Instant::now();
    let code = "import time; time.sleep(1)";
    let (a, b) = tokio::join!(p.exec("par-1", code), p.exec("par-2", code));
    assert_eq!(a["status"], "Succeeded");
    assert_eq!(b["status"], "Succeeded");
    assert!(
        started.elapsed() < Duration::from_millis(1900),
        "{:?}",
        started.elapsed()
    );
    p.pool.shutdown().await;
}

#[tokio::test]
async fn stdin_feeds_input_and_is_eof_without_it() {
    let p = python().await;
    // The custom route takes stdin; it answers as Piston does (a job of its own, no result).
    let custom = p
        .post_json(
            p.url("/python/execute", None, Some("stdin-1")),
            json!({"properties": {"code": "name = input('Name? ')\nprint('hello', name)\nname", "stdin": "Ada\n"}}),
        )
        .await;
    assert_eq!(custom.status(), 200);
    let v: Value = custom.json().await.expect("json");
    assert_eq!(v["language"], "python", "{v}");
    assert_eq!(v["run"]["code"], 0, "{v}");
    assert_eq!(v["run"]["stdout"], "Name? hello Ada\n");
    assert!(v["run"]["wall_time"].is_u64());

    let started = Instant::now();
    let eof = p.exec("stdin-1", "input()").await;
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(eof["status"], "Failed");
    assert!(stderr(&eof).contains("EOFError"), "{eof}");

    // Like Azure, a Python (or Node) pool refuses stdin on its own APIs: it is a Shell-pool field.
    for path in ["/executions", "/code/execute"] {
        let version = if path == "/executions" { API } else { LEGACY };
        let refused = p
            .post_json(
                p.url(path, Some(version), Some("stdin-1")),
                json!({"code": "import sys\nsys.stdin.read()", "stdin": "all of it"}),
            )
            .await;
        assert_eq!(refused.status(), 400, "{path}");
        let e: Value = refused.json().await.expect("json");
        assert!(
            e["error"]["message"].as_str().unwrap().contains("Shell"),
            "{e}"
        );
    }

    // Output of child processes is captured too, in order.
    let child = p
        .exec(
            "stdin-1",
            "import os\nprint('a')\nos.system('echo b')\nprint('c')",
        )
        .await;
    assert_eq!(stdout(&child), "a\nb\nc\n");
    p.pool.shutdown().await;
}

#[tokio::test]
async fn endless_output_is_capped() {
    let p = start(PoolOptions {
        output_cap_bytes: 64 * 1024,
        ..PoolOptions::default()
    })
    .await;
    let started = Instant::now();
    // The legacy route answers the interpreter's whole capture (executions truncate it).
    let r = p
        .post_json(
            p.url("/code/execute", Some(LEGACY), Some("flood")),
            json!({"properties": {"code": "while True: print('x' * 1000)", "timeoutInSeconds": 2}}),
        )
        .await;
    assert!(started.elapsed() < Duration::from_secs(15));
    let v: Value = r.json().await.expect("json");
    let v = &v["properties"];
    assert_eq!(v["status"], "Failure");
    assert_eq!(
        v["stderr"],
        "Request timed out waiting for code execution to complete"
    );
    let out = v["stdout"].as_str().unwrap_or_default();
    assert!(out.len() < 64 * 1024 + 200, "{}", out.len());
    assert!(
        out.contains("[output truncated by the local pool: "),
        "{}",
        &out[out.len().saturating_sub(200)..]
    );

    // Plenty of output that ends is kept whole up to the cap, and the session goes on.
    let ok = p
        .post_json(
            p.url("/code/execute", Some(LEGACY), Some("flood")),
            json!({"properties": {"code": "for i in range(100000): print(i)"}}),
        )
        .await;
    let v: Value = ok.json().await.expect("json");
    assert_eq!(v["properties"]["status"], "Success");
    assert!(
        v["properties"]["stdout"]
            .as_str()
            .unwrap_or_default()
            .starts_with("0\n1\n2\n")
    );

    // The custom route's jobs stop at the smaller of their own cap (1 MiB) and the pool's.
    let piston: Value = p
        .post_json(
            p.url("/python/execute", None, Some("flood")),
            json!({"properties": {"code": "while True: print('x' * 1000)"}}),
        )
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(
        piston["run"]["status"], "OL",
        "{}",
        piston["run"]["message"]
    );
    assert_eq!(
        piston["run"]["stdout"].as_str().map(str::len),
        Some(64 * 1024)
    );
    p.pool.shutdown().await;
}

#[tokio::test]
async fn a_full_pool_answers_404_like_azure() {
    let p = start(PoolOptions {
        max_sessions: 2,
        ..PoolOptions::default()
    })
    .await;
    p.get("/files", Some(API), Some("one-1")).await;
    p.get("/files", Some(API), Some("two-2")).await;
    let third = p
        .post_json(
            p.url("/executions", Some(API), Some("three-3")),
            json!({"code": "1"}),
        )
        .await;
    // session-pool.md: requests after the max limit is met are returned a 404.
    assert_eq!(third.status(), 404);
    assert_eq!(
        third.headers()["x-ms-error-code"],
        "SessionsCountExceedsLimit"
    );
    // Existing sessions still work.
    assert_eq!(p.exec("one-1", "1").await["status"], "Succeeded");
    p.pool.shutdown().await;
}

#[tokio::test]
async fn idle_sessions_expire_after_the_cooldown() {
    let p = start(PoolOptions {
        cooldown: Duration::from_millis(600),
        ..PoolOptions::default()
    })
    .await;
    p.exec("idle", "v = 1\nopen('f.txt', 'w').write('x')").await;
    assert_eq!(
        p.get("/session", Some(API), Some("idle")).await.status(),
        200
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let listed: Value = p
            .get("/listSessions", Some(API), None)
            .await
            .json()
            .await
            .expect("json");
        if listed["sessions"].as_array().is_some_and(Vec::is_empty) {
            break;
        }
        assert!(Instant::now() < deadline, "the session never expired");
    }
    let r = p.exec("idle", "v").await;
    assert!(stderr(&r).contains("NameError"), "{r}");
    let list: Value = p
        .get("/files", Some(API), Some("idle"))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(list["value"], json!([]));
    p.pool.shutdown().await;
}

#[tokio::test]
async fn node_state_results_and_errors() {
    if !node_available() {
        return;
    }
    let p = start(PoolOptions {
        language: Language::JavaScript,
        ..PoolOptions::default()
    })
    .await;
    let a = p
        .exec(
            "node-1",
            "var total = 40;\nconsole.log('set');\nconsole.error('warn');",
        )
        .await;
    assert_eq!(a["status"], "Succeeded", "{a}");
    assert_eq!(stdout(&a), "set\n");
    assert_eq!(stderr(&a), "warn\n");
    assert_eq!(a["result"]["executionResult"], "");
    let b = p.exec("node-1", "total + 2").await;
    assert_eq!(b["result"]["executionResult"], 42);
    assert_eq!(
        p.exec("node-1", "({a: [1, 'x']})").await["result"]["executionResult"],
        json!({"a": [1, "x"]})
    );
    assert_eq!(
        p.exec("node-1", "Promise.resolve(7)").await["result"]["executionResult"],
        7
    );
    assert_eq!(
        p.exec("node-2", "typeof total").await["result"]["executionResult"],
        "undefined"
    );

    let err = p
        .exec("node-1", "let q = 1;\nq += 1;\nnotDefined.x;\n")
        .await;
    assert_eq!(err["status"], "Failed");
    let text = stderr(&err);
    assert!(
        text.contains("ReferenceError: notDefined is not defined"),
        "{text}"
    );
    // The header names the run's own script.
    assert!(
        text.lines()
            .any(|l| l.starts_with("<run-") && l.ends_with(">:3")),
        "{text}"
    );
    assert!(!text.contains("worker.js"), "{text}");

    let syntax = p.exec("node-1", "1 +\n)").await;
    assert_eq!(syntax["status"], "Failed");
    assert!(stderr(&syntax).contains("SyntaxError"), "{syntax}");

    // The worker's stdin is empty (the executions API takes none on a Node pool) ...
    let read = "new Promise((done) => { let s = ''; process.stdin.on('data', (d) => (s += d)); process.stdin.on('end', () => done(s.trim())); })";
    assert_eq!(
        p.exec("node-1", read).await["result"]["executionResult"],
        ""
    );
    // ... and the custom route's JavaScript job reads it as process.stdin, Piston-like.
    let print = "let s = ''; process.stdin.on('data', (d) => (s += d)); process.stdin.on('end', () => console.log(s.trim()));";
    let with_stdin: Value = p
        .post_json(
            p.url("/javascript/execute", None, Some("node-1")),
            json!({"properties": {"code": print, "stdin": "from stdin\n"}}),
        )
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(with_stdin["run"]["stdout"], "from stdin\n", "{with_stdin}");

    // Python runs beside it through the custom-container route, whatever the pool's language.
    let py = p
        .post_json(
            p.url("/python/execute", None, Some("node-1")),
            json!({"properties": {"code": "print(3*3)"}}),
        )
        .await;
    let v: Value = py.json().await.expect("json");
    assert_eq!(v["language"], "python", "{v}");
    assert_eq!(v["run"]["stdout"], "9\n", "{v}");

    let timeout = p
        .exec_with(
            "node-1",
            json!({"code": "while (true) {}", "timeoutInSeconds": 1}),
        )
        .await;
    assert_eq!(
        stderr(&timeout),
        "Request timed out waiting for code execution to complete"
    );
    let fresh = p.exec("node-1", "typeof total").await;
    assert_eq!(fresh["result"]["executionResult"], "undefined");
    assert!(
        stderr(&fresh).starts_with("[local pool] The previous interpreter"),
        "{fresh}"
    );
    p.pool.shutdown().await;
}

#[tokio::test]
async fn dropping_the_pool_kills_its_interpreters() {
    let p = python().await;
    let r = p
        .exec(
            "pid-test",
            "import os, subprocess\nchild = subprocess.Popen(['sleep', '60'])\n[os.getpid(), child.pid]",
        )
        .await;
    let pids: Vec<i64> = r["result"]["executionResult"]
        .as_array()
        .expect("pids")
        .iter()
        .filter_map(Value::as_i64)
        .collect();
    assert_eq!(pids.len(), 2, "{r}");
    assert!(pids.iter().all(|&pid| alive(pid)));
    drop(p);
    let deadline = Instant::now() + Duration::from_secs(5);
    for pid in pids {
        while alive(pid) {
            assert!(Instant::now() < deadline, "process {pid} survived the pool");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// A process that is gone or a zombie waiting to be reaped no longer runs.
fn alive(pid: i64) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => !stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')),
        Err(_) => false,
    }
}

#[tokio::test]
async fn odd_requests_get_azure_errors_and_never_break_the_pool() {
    let p = python().await;
    let base = p.pool.endpoint();
    let mut cases: Vec<(reqwest::Method, String, Option<&str>)> = vec![
        (
            reqwest::Method::PUT,
            format!("{base}/executions?api-version={API}&identifier=odd-1"),
            None,
        ),
        (
            reqwest::Method::POST,
            format!("{base}/files?api-version={API}&identifier=odd-1"),
            Some("not multipart"),
        ),
        (
            reqwest::Method::POST,
            format!("{base}/files/upload?api-version={LEGACY}&identifier=odd-1"),
            Some(""),
        ),
        (
            reqwest::Method::GET,
            format!("{base}/executions?api-version={API}&identifier=odd-1"),
            None,
        ),
        (
            reqwest::Method::POST,
            format!("{base}/ruby/execute?identifier=odd-1"),
            Some("{}"),
        ),
        (
            reqwest::Method::POST,
            format!("{base}/python/execute"),
            Some(r#"{"properties":{"code":"1"}}"#),
        ),
        (
            reqwest::Method::POST,
            format!("{base}/executions?api-version={API}&identifier=%FF%FE%00abc"),
            Some("{}"),
        ),
        (
            reqwest::Method::POST,
            format!("{base}/executions?api-version={API}&identifier=odd-1&&&=&"),
            Some("[]"),
        ),
        (
            reqwest::Method::POST,
            format!("{base}/executions?api-version={API}&identifier=odd-1"),
            Some(r#"{"code": 5}"#),
        ),
        (
            reqwest::Method::POST,
            format!("{base}/executions?api-version={API}&identifier=odd-1"),
            Some(r#"{"code":"1","timeoutInSeconds":1e300,"outputStreamsMaxLength":1e300}"#),
        ),
        (
            reqwest::Method::GET,
            format!("{base}/files/%00/content?api-version={API}&identifier=odd-1"),
            None,
        ),
    ];
    cases.push((
        reqwest::Method::POST,
        format!("{base}/executions?api-version={API}&identifier=odd-1"),
        Some(r#"{"code":"1","timeoutInSeconds":-3,"outputStreamsMaxLength":-1}"#),
    ));
    for (method, url, body) in cases {
        let mut request = p
            .http
            .request(method.clone(), &url)
            .header("authorization", "Bearer whatever");
        if let Some(body) = body {
            request = request
                .header("content-type", "application/json")
                .body(body.to_string());
        }
        let response = request.send().await.expect("request");
        let status = response.status();
        if status != 200 {
            assert!(
                response.headers().contains_key("x-ms-error-code"),
                "{method} {url}: {status}"
            );
            let e: Value = response.json().await.expect("an Azure error body");
            assert!(e["error"]["code"].is_string(), "{method} {url}: {e}");
        }
    }
    // A file literally named like a route segment still works.
    assert_eq!(
        p.upload("/files", API, "odd-1", "content", b"c")
            .await
            .status(),
        200
    );
    let meta = p.get("/files/content", Some(API), Some("odd-1")).await;
    assert_eq!(meta.status(), 200);
    let data = p
        .get("/files/content/content", Some(LEGACY), Some("odd-1"))
        .await;
    assert_eq!(data.bytes().await.expect("bytes").as_ref(), b"c");
    assert_eq!(
        p.exec("odd-1", "2 + 2").await["result"]["executionResult"],
        4
    );
    p.pool.shutdown().await;
}

#[tokio::test]
async fn uploads_over_128_mb_are_refused() {
    let p = python().await;
    let big = vec![b'x'; 128 * 1024 * 1024 + 1];
    let started = Instant::now();
    let r = p.upload("/files", API, "big-upload", "big.bin", &big).await;
    assert_eq!(r.status(), 413);
    eprintln!("413 after {:?}", started.elapsed());
    let list: Value = p
        .get("/files", Some(API), Some("big-upload"))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(list["value"], json!([]));
    p.pool.shutdown().await;
}

#[tokio::test]
async fn shutdown_removes_the_temporary_data() {
    let p = python().await;
    let r = p
        .exec(
            "cleanup",
            "import os\nopen('f.txt', 'w').write('x')\nos.getcwd()",
        )
        .await;
    let cwd = std::path::PathBuf::from(r["result"]["executionResult"].as_str().expect("cwd"));
    assert!(cwd.join("f.txt").exists());
    // The session directory is named by a hash, never by the raw identifier.
    assert!(!cwd.to_string_lossy().contains("cleanup"));
    let root = cwd.ancestors().nth(2).expect("root").to_path_buf();
    p.pool.shutdown().await;
    assert!(!root.exists(), "{} is left behind", root.display());

    // With a data root of one's own, the root stays but ended sessions leave no files.
    let own = tempfile::tempdir().expect("tempdir");
    let p = start(PoolOptions {
        data_root: Some(own.path().to_path_buf()),
        ..PoolOptions::default()
    })
    .await;
    p.exec("cleanup", "open('f.txt', 'w').write('x')").await;
    let sessions = own.path().join("sessions");
    assert_eq!(std::fs::read_dir(&sessions).expect("sessions").count(), 1);
    p.pool.shutdown().await;
    assert!(own.path().exists());
    assert_eq!(std::fs::read_dir(&sessions).expect("sessions").count(), 0);
}

#[test]
fn the_pool_can_live_in_other_tasks() {
    fn send_sync<T: Send + Sync>() {}
    fn send<T: Send>(_: &T) {}
    send_sync::<LocalPool>();
    send(&LocalPool::start(PoolOptions::default()));
    send(&azure_sessions_lsp::pool::serve_forever(
        PoolOptions::default(),
        None,
    ));
    assert_eq!("node".parse::<Language>(), Ok(Language::JavaScript));
    assert_eq!("Python".parse::<Language>(), Ok(Language::Python));
    assert!("ruby".parse::<Language>().is_err());
}

#[path = "pool/workers.rs"]
mod workers;

#[path = "pool/shell.rs"]
mod shell;

#[path = "pool/piston.rs"]
mod piston;

#[path = "pool/piston_jobs.rs"]
mod piston_jobs;
