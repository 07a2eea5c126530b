//! JavaScript sessions: state, results and errors from Node.

use super::*;

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
