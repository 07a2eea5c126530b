//! The local pool's Shell mode, like Azure's Shell pools: `shellCommand` with `stdin`, the exit
//! code as the status, files kept between commands; and each pool type refusing the other's
//! fields.

use super::*;

async fn shell() -> Pool {
    start(PoolOptions {
        language: Language::Shell,
        ..PoolOptions::default()
    })
    .await
}

#[tokio::test]
async fn shell_pools_run_commands_with_stdin_and_report_the_exit_code() {
    let p = shell().await;
    let ok = p
        .exec_with(
            "shell-1",
            json!({"shellCommand": "read name; echo \"hello $name\" > greeting.txt; cat greeting.txt", "stdin": "Ada\n", "timeoutInSeconds": 30}),
        )
        .await;
    assert_eq!(ok["status"], "0", "{ok}");
    assert_eq!(ok["result"]["stdout"], "hello Ada\n");
    // Files stay for the next command of the session.
    let failed = p
        .exec_with(
            "shell-1",
            json!({"shellCommand": "cat greeting.txt\nls missing-file\nexit 3"}),
        )
        .await;
    assert_eq!(failed["status"], "3", "{failed}");
    assert_eq!(failed["result"]["stdout"], "hello Ada\n");
    assert!(
        failed["result"]["stderr"]
            .as_str()
            .unwrap()
            .contains("missing-file"),
        "{failed}"
    );
    // A Shell pool refuses `code`; a Python pool refuses `shellCommand`.
    let code = p
        .post_json(
            p.url("/executions", Some(API), Some("shell-1")),
            json!({"code": "print(1)"}),
        )
        .await;
    assert_eq!(code.status(), 400);
    p.pool.shutdown().await;
    let py = python().await;
    let command = py
        .post_json(
            py.url("/executions", Some(API), Some("py-1")),
            json!({"shellCommand": "echo hi"}),
        )
        .await;
    assert_eq!(command.status(), 400);
    py.pool.shutdown().await;
}

#[tokio::test]
async fn a_shell_command_that_runs_too_long_is_stopped() {
    let p = shell().await;
    let started = Instant::now();
    let slow = p
        .exec_with(
            "shell-2",
            json!({"shellCommand": "echo before; sleep 30", "timeoutInSeconds": 1}),
        )
        .await;
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_ne!(slow["status"], "0");
    assert!(
        slow["result"]["stderr"]
            .as_str()
            .unwrap()
            .contains("timed out"),
        "{slow}"
    );
    p.pool.shutdown().await;
}
