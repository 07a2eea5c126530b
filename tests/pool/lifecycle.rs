//! Sessions and the pool's life: deleting a session, order within a session and parallelism
//! across them, a full pool, the cooldown, and what stopping the pool leaves behind.

use super::*;

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
