//! Python runs in the local pool: state per session, results, errors, long-running executions,
//! timeouts, crashed interpreters, stdin and endless output.

use super::*;

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
