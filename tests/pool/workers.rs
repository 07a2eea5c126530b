//! What one run of a worker leaves for the next: the file name its code compiled under, output of
//! background work, child processes, top-level declarations, and a run that timed out.

use super::*;
use azure_sessions_lsp::pool::{EARLIER_OUTPUT_BEGIN, EARLIER_OUTPUT_END};

async fn node() -> Pool {
    start(PoolOptions {
        language: Language::JavaScript,
        ..PoolOptions::default()
    })
    .await
}

/// The file names (`<run-N>`) in the frames of a traceback, in order.
fn run_files(text: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find("<run-") {
        let tail = &rest[at..];
        let end = tail.find('>').map_or(tail.len(), |e| e + 1);
        names.push(tail[..end].to_owned());
        rest = &tail[end..];
    }
    names
}

#[tokio::test]
async fn each_run_compiles_as_a_file_of_its_own_with_its_source_lines() {
    let p = python().await;
    p.exec(
        "files",
        "class A:\n    def __init__(self):\n        raise ValueError('in A')\n",
    )
    .await;
    let r = p
        .exec(
            "files",
            "class B:\n    def __init__(self):\n        pass\n\nA()\n",
        )
        .await;
    let err = stderr(&r);
    let files = run_files(err);
    assert_eq!(files.len(), 2, "{err}");
    assert_ne!(files[0], files[1], "{err}");
    assert!(
        err.contains(&format!("File \"{}\", line 5, in <module>", files[0])),
        "{err}"
    );
    // The source lines come from linecache, for earlier runs too.
    assert!(err.contains("    A()\n"), "{err}");
    assert!(err.contains("raise ValueError('in A')"), "{err}");
    // eval/exec keep their own `<string>` name.
    let e = p.exec("files", "x = 1\neval('1 +')\n").await;
    assert!(stderr(&e).contains("File \"<string>\", line 1"), "{e}");
    assert_eq!(run_files(stderr(&e)).len(), 1, "{e}");
    p.pool.shutdown().await;

    if !node_available() {
        return;
    }
    let p = node().await;
    p.exec("files", "function boom() {\n  throw new Error('x');\n}\n")
        .await;
    let r = p.exec("files", "const a = 1;\nboom();\n").await;
    let files = run_files(stderr(&r));
    assert!(files.len() >= 2, "{r}");
    assert_ne!(files.first(), files.last(), "{r}");
    assert!(
        stderr(&r).contains(&format!("at {}:2:1", files.last().unwrap())),
        "{r}"
    );
    p.pool.shutdown().await;
}

#[tokio::test]
async fn output_of_earlier_background_work_is_labelled() {
    if !node_available() {
        return;
    }
    let p = node().await;
    let first = p
        .exec(
            "late",
            "setTimeout(() => { console.log('late'); null.boom; }, 50);\n'scheduled'",
        )
        .await;
    assert_eq!(first["status"], "Succeeded", "{first}");
    tokio::time::sleep(Duration::from_millis(400)).await;
    let r = p.exec("late", "let a = 1;\nundefinedFn();\n").await;
    let err = stderr(&r);
    let begin = err.find(EARLIER_OUTPUT_BEGIN).expect(err);
    let end = err.find(EARLIER_OUTPUT_END).expect(err);
    let boom = err.find("Cannot read properties of null").expect(err);
    let own = err.find("ReferenceError: undefinedFn").expect(err);
    assert!(begin < boom && boom < end && end < own, "{err}");
    assert!(stdout(&r).starts_with(EARLIER_OUTPUT_BEGIN), "{r}");
    assert!(stdout(&r).contains("late\n"), "{r}");
    // Nothing left over: nothing labelled.
    let next = p.exec("late", "1").await;
    assert_eq!(stderr(&next), "", "{next}");
    assert_eq!(stdout(&next), "", "{next}");
    p.pool.shutdown().await;
}

#[tokio::test]
async fn child_processes_never_read_the_workers_protocol() {
    let p = python().await;
    let r = p
        .exec(
            "stdin-child",
            "import subprocess\nkept = 7\nchild = subprocess.Popen(['cat'], stdout=subprocess.DEVNULL)\n'started'",
        )
        .await;
    assert_eq!(r["status"], "Succeeded", "{r}");
    let next = p
        .exec_with(
            "stdin-child",
            json!({"code": "kept", "timeoutInSeconds": 5}),
        )
        .await;
    assert_eq!(next["result"]["executionResult"], 7, "{next}");
    p.pool.shutdown().await;

    if !node_available() {
        return;
    }
    let p = node().await;
    let r = p
        .exec(
            "stdin-child",
            "var kept = 5;\nrequire('child_process').spawn('cat', [], { stdio: ['inherit', 'ignore', 'ignore'] });\n'started'",
        )
        .await;
    assert_eq!(r["status"], "Succeeded", "{r}");
    let started = Instant::now();
    let next = p
        .exec_with(
            "stdin-child",
            json!({"code": "kept", "timeoutInSeconds": 5}),
        )
        .await;
    assert_eq!(next["status"], "Succeeded", "{next}");
    assert_eq!(next["result"]["executionResult"], 5, "{next}");
    assert!(started.elapsed() < Duration::from_secs(4));
    // The child's stdin is /dev/null: `cat` ended at once instead of waiting.
    let inherit = p
        .exec(
            "stdin-child",
            "require('child_process').spawnSync('cat', [], { stdio: 'inherit', timeout: 3000 }).status",
        )
        .await;
    assert_eq!(inherit["result"]["executionResult"], 0, "{inherit}");
    assert_eq!(
        p.exec("stdin-child", "kept + 1").await["result"]["executionResult"],
        6
    );
    p.pool.shutdown().await;
}

#[tokio::test]
async fn rerunning_top_level_const_let_and_class_keeps_working() {
    if !node_available() {
        return;
    }
    let p = node().await;
    let cell = "const data = [1, 2];\nlet total = data.length;\nclass Point { constructor(x) { this.x = x; } }\nlet unset;\nnew Point(total).x + (unset === undefined ? 0 : 100)";
    for _ in 0..2 {
        let r = p.exec("rerun", cell).await;
        assert_eq!(r["status"], "Succeeded", "{r}");
        assert_eq!(r["result"]["executionResult"], 2, "{r}");
    }
    // The bindings are the session's: later runs see them.
    let later = p
        .exec("rerun", "unset = 5;\ndata.length + total + new Point(3).x")
        .await;
    assert_eq!(later["result"]["executionResult"], 7, "{later}");
    // Running the cell again resets `let unset;`, as a fresh declaration would.
    assert_eq!(p.exec("rerun", cell).await["result"]["executionResult"], 2);
    // Declarations inside blocks, strings and comments are left alone.
    let tricky = "{ const data = 'inner'; }\n// const total = 0;\nconst re = /const {/;\nconst s = `const ${'x'} = 1; ${ { a: 1 }.a }`;\nconst after = 1;\n[data.length, total, s, re.test('const {'), after]";
    for _ in 0..2 {
        let inner = p.exec("rerun", tricky).await;
        assert_eq!(
            inner["result"]["executionResult"],
            json!([2, 2, "const x = 1; 1", true, 1]),
            "{inner}"
        );
    }
    // The user's own syntax errors are reported as written.
    let bad = p.exec("rerun", "const = 1;\n").await;
    assert_eq!(bad["status"], "Failed");
    assert!(stderr(&bad).contains("SyntaxError"), "{bad}");
    p.pool.shutdown().await;
}

#[tokio::test]
async fn a_timeout_keeps_the_stderr_written_before_it() {
    let p = python().await;
    let r = p
        .exec_with(
            "slow-err",
            json!({"code": "import sys\nprint('before')\nprint('err-before', file=sys.stderr)\nwhile True: pass", "timeoutInSeconds": 1}),
        )
        .await;
    assert_eq!(r["status"], "Failed");
    assert_eq!(stdout(&r), "before\n");
    assert_eq!(
        stderr(&r),
        "err-before\nRequest timed out waiting for code execution to complete"
    );
    p.pool.shutdown().await;
}
