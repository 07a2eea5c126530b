//! The wire as Azure speaks it: both APIs' shapes, output lengths, request validation, odd
//! requests and upload limits answered with Azure's errors.

use super::*;

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
