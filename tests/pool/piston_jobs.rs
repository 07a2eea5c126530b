//! The custom route's jobs, Piston-like: their limits (wall time: `TO`; output: `OL`/`EL`),
//! their end with the request or the session, the guard in front of them, and what they leave
//! behind (nothing).

use super::piston::text;
use super::*;

#[tokio::test]
async fn a_run_over_its_time_limit_is_to_and_sigkill_with_its_children() {
    let p = python().await;
    let pid_file = tempfile::NamedTempFile::new().expect("temp file");
    let code = format!(
        "echo before\nsleep 300 &\necho $! > {}\nsleep 30\necho never",
        pid_file.path().display()
    );
    let started = Instant::now();
    let (status, v) = p
        .piston_with(
            "bash",
            "slow-1",
            json!({"code": code, "timeoutInSeconds": 1}),
        )
        .await;
    let took = started.elapsed();
    assert_eq!(status, 200, "{v}");
    let run = &v["run"];
    assert_eq!(run["status"], "TO", "{v}");
    assert_eq!(run["signal"], "SIGKILL", "{v}");
    assert!(run["code"].is_null(), "{v}");
    assert_eq!(run["message"], "Time limit exceeded (wall clock)", "{v}");
    assert_eq!(run["stdout"], "before\n", "{v}");
    assert!(
        took >= Duration::from_millis(950) && took < Duration::from_secs(4),
        "{took:?}"
    );
    let wall = run["wall_time"].as_u64().unwrap_or_default();
    assert!((950..4000).contains(&wall), "{v}");
    // The background child went with the group.
    let pid: i64 = std::fs::read_to_string(pid_file.path())
        .expect("pid")
        .trim()
        .parse()
        .expect("a pid");
    let deadline = Instant::now() + Duration::from_secs(5);
    while alive(pid) {
        assert!(Instant::now() < deadline, "process {pid} survived its job");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    p.pool.shutdown().await;
}

#[tokio::test]
async fn output_over_the_cap_is_ol_or_el_and_keeps_a_mebibyte() {
    let p = python().await;
    let v = p.piston("python", "print('x' * 3_000_000)").await;
    let run = &v["run"];
    assert_eq!(run["status"], "OL", "{}", run["message"]);
    assert_eq!(run["message"], "stdout length exceeded");
    assert_eq!(run["signal"], "SIGKILL");
    assert!(run["code"].is_null());
    assert_eq!(text(&v, "run", "stdout").len(), 1 << 20);

    let v = p
        .piston("python", "import sys\nsys.stderr.write('e' * 3_000_000)")
        .await;
    assert_eq!(v["run"]["status"], "EL", "{}", v["run"]["message"]);
    assert_eq!(v["run"]["message"], "stderr length exceeded");
    assert_eq!(text(&v, "run", "stderr").len(), 1 << 20);
    p.pool.shutdown().await;
}

#[tokio::test]
async fn the_guard_still_refuses_the_custom_route_without_the_key() {
    let p = python().await;
    let bare = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client");
    let url = p.url("/python/execute", None, Some("guard-1"));
    let marker = tempfile::tempdir().expect("dir");
    let file = marker.path().join("ran");
    let body = json!({"properties": {"code": format!("open({:?}, 'w').write('x')", file.display().to_string())}});
    let send = |auth: Option<&str>, origin: bool| {
        let mut request = bare.post(&url).json(&body);
        if let Some(auth) = auth {
            request = request.header("authorization", auth);
        }
        if origin {
            request = request.header("origin", "https://evil.example");
        }
        request.send()
    };
    assert_eq!(send(None, false).await.expect("request").status(), 401);
    assert_eq!(
        send(Some("Bearer wrong"), false)
            .await
            .expect("request")
            .status(),
        401
    );
    let with_key = format!("Bearer {}", p.pool.key());
    assert_eq!(
        send(Some(&with_key), true).await.expect("request").status(),
        403
    );
    assert!(!file.exists(), "refused requests ran nothing");
    assert_eq!(
        send(Some(&with_key), false)
            .await
            .expect("request")
            .status(),
        200
    );
    assert!(file.exists(), "the same request with the key runs");
    p.pool.shutdown().await;
}

#[tokio::test]
async fn jobs_are_stateless_and_the_identifier_is_a_session() {
    let root = tempfile::tempdir().expect("dir");
    let p = start(PoolOptions {
        data_root: Some(root.path().to_path_buf()),
        ..PoolOptions::default()
    })
    .await;
    let first = p
        .piston(
            "python",
            "x = 41\nopen('left.txt', 'w').write('x')\nprint('wrote')",
        )
        .await;
    assert_eq!(first["run"]["stdout"], "wrote\n", "{first}");
    let second = p
        .piston(
            "python",
            "import os\nprint(os.path.exists('left.txt'))\nprint(x)",
        )
        .await;
    assert_eq!(second["run"]["stdout"], "False\n", "{second}");
    assert!(
        text(&second, "run", "stderr").contains("NameError"),
        "{second}"
    );
    // The identifier allocated a session, as on Azure.
    assert_eq!(p.session("piston-1").await["identifier"], "piston-1");
    // Nothing is left under the pool's jobs directory.
    let jobs = root.path().join("jobs");
    let deadline = Instant::now() + Duration::from_secs(5);
    while std::fs::read_dir(&jobs).expect("jobs dir").next().is_some() {
        assert!(Instant::now() < deadline, "a job directory stayed");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    p.pool.shutdown().await;
}

#[tokio::test]
async fn a_dropped_request_or_a_deleted_session_ends_its_job() {
    let p = python().await;
    let dir = tempfile::tempdir().expect("dir");
    let pid_file = dir.path().join("pid");
    let code = format!("echo $$ > {}\nsleep 300", pid_file.display());
    let url = p.url("/bash/execute", None, Some("dropped-1"));
    let request = p
        .http
        .post(&url)
        .timeout(Duration::from_millis(1500))
        .json(&json!({"properties": {"code": code}}))
        .send();
    assert!(request.await.is_err(), "the client gave up");
    let pid: i64 = std::fs::read_to_string(&pid_file)
        .expect("the job started")
        .trim()
        .parse()
        .expect("a pid");
    let deadline = Instant::now() + Duration::from_secs(5);
    while alive(pid) {
        assert!(
            Instant::now() < deadline,
            "process {pid} outlived its request"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // Deleting the session stops a job of it, which answers as killed.
    let running = p.piston_with(
        "bash",
        "deleted-1",
        json!({"code": "echo started; sleep 60"}),
    );
    let delete = async {
        tokio::time::sleep(Duration::from_millis(800)).await;
        p.http
            .delete(p.url("/session", Some(API), Some("deleted-1")))
            .send()
            .await
            .expect("delete")
            .status()
    };
    let started = Instant::now();
    let ((status, v), deleted) = tokio::join!(running, delete);
    assert_eq!(deleted, 204);
    assert_eq!(status, 200, "{v}");
    assert!(started.elapsed() < Duration::from_secs(20));
    assert_eq!(v["run"]["status"], "SG", "{v}");
    assert_eq!(v["run"]["signal"], "SIGKILL", "{v}");
    assert!(
        v["run"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("session was stopped")),
        "{v}"
    );
    p.pool.shutdown().await;
}
