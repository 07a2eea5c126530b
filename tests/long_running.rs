//! Long-running executions as the service answers them: a 202 with the final result is final
//! (the recorded behaviour); a body that says Running or NotStarted is polled until it ends.

mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use azure_sessions_lsp::auth::Credentials;
use azure_sessions_lsp::sessions::{
    Api, ExecuteRequest, ExecutionStatus, PoolTarget, SessionsClient, SessionsError,
};
use common::fake_pool::*;
use serde_json::{Value, json};

fn request(timeout: Duration) -> ExecuteRequest<'static> {
    ExecuteRequest {
        identifier: "lro-1234",
        code: "print(1)",
        language: "python",
        stdin: None,
        timeout,
        cold_start_budget: Duration::ZERO,
    }
}

async fn run(
    pool: &FakePool,
    timeout: Duration,
) -> Result<azure_sessions_lsp::sessions::Execution, SessionsError> {
    let target = PoolTarget::new(&pool.endpoint(), Api::Executions, None, "").unwrap();
    SessionsClient::new(&pool.http_options())
        .unwrap()
        .execute(&target, &Credentials::None, &request(timeout), &|_| {})
        .await
}

fn resource(status: &str, stdout: &str) -> Value {
    json!({"$id": "1", "id": "exec-7", "identifier": "lro-1234", "executionType": "synchronous", "status": status,
           "result": {"$id": "2", "stdout": stdout, "stderr": "", "executionResult": "", "executionTimeInMilliseconds": 7}})
}

#[tokio::test]
async fn a_202_with_the_final_result_is_final() {
    let pool =
        FakePool::start(|_, _| Reply::Json(202, resource("Succeeded", "Hello world\n"))).await;
    let done = run(&pool, Duration::from_secs(5)).await.unwrap();
    assert_eq!(done.status, ExecutionStatus::Succeeded);
    assert_eq!(done.stdout, "Hello world\n");
    assert_eq!(
        done.result,
        Value::Null,
        "executionResult \"\" means no value"
    );
    assert_eq!(pool.count(), 1, "never polled");
}

#[tokio::test]
async fn running_is_followed_at_operation_location_until_it_ends() {
    let pool = FakePool::start(|req, n| {
        if req.method == "POST" {
            return Reply::Raw(
                202,
                vec![
                    (
                        "operation-location",
                        "/operations/op-9?api-version=2025-10-02-preview".to_owned(),
                    ),
                    ("content-type", "application/json".to_owned()),
                ],
                resource("Running", "").to_string().into_bytes(),
            );
        }
        assert_eq!(req.path, "/operations/op-9");
        if n < 3 {
            Reply::Json(200, json!({"id": "exec-7", "status": "Running"}))
        } else {
            Reply::Json(200, resource("Succeeded", "done\n"))
        }
    })
    .await;
    let done = run(&pool, Duration::from_secs(10)).await.unwrap();
    assert_eq!(done.status, ExecutionStatus::Succeeded);
    assert_eq!(done.stdout, "done\n");
    let requests = pool.requests();
    assert_eq!(requests.len(), 4, "one POST, then polls until Succeeded");
    assert_eq!(pool.executions().len(), 1, "the code was sent once");
}

#[tokio::test]
async fn without_operation_location_the_execution_id_is_polled() {
    let pool = FakePool::start(|req, n| {
        if req.method == "POST" {
            return Reply::Json(202, resource("NotStarted", ""));
        }
        assert_eq!(req.path, "/executions/exec-7");
        assert_eq!(req.query["identifier"], "lro-1234");
        assert!(req.query.contains_key("api-version"));
        if n == 1 {
            Reply::Json(200, resource("Running", ""))
        } else {
            Reply::Json(200, resource("Failed", ""))
        }
    })
    .await;
    let done = run(&pool, Duration::from_secs(10)).await.unwrap();
    assert_eq!(done.status, ExecutionStatus::Failed);
    assert_eq!(pool.count(), 3);
}

#[tokio::test]
async fn a_run_that_never_ends_times_out_and_another_host_is_not_followed() {
    let pool = FakePool::start(|_, _| Reply::Json(202, resource("Running", ""))).await;
    let started = Instant::now();
    let error = run(&pool, Duration::from_secs(1)).await.unwrap_err();
    assert!(matches!(error, SessionsError::Timeout { .. }), "{error}");
    assert!(started.elapsed() < Duration::from_secs(10));

    let elsewhere = FakePool::start(|_, _| {
        Reply::Raw(
            202,
            vec![(
                "operation-location",
                "https://attacker.example/operations/1".to_owned(),
            )],
            resource("Running", "").to_string().into_bytes(),
        )
    })
    .await;
    let error = run(&elsewhere, Duration::from_secs(5)).await.unwrap_err();
    assert!(error.to_string().contains("another host"), "{error}");
    assert_eq!(elsewhere.count(), 1);
}

#[tokio::test]
async fn a_finished_poll_ends_within_a_tenth_of_the_run_plus_a_round_trip() {
    // The operation finishes 1.2 s after the POST; the poll must see it by 1.2 s + max(100 ms, 120 ms).
    let posted = std::sync::Arc::new(std::sync::Mutex::new(None::<Instant>));
    let seen = posted.clone();
    let pool = FakePool::start(move |req, _| {
        if req.method == "POST" {
            *seen.lock().unwrap() = Some(Instant::now());
            return Reply::Json(202, resource("Running", ""));
        }
        let since = seen.lock().unwrap().unwrap().elapsed();
        if since < Duration::from_millis(1200) {
            Reply::Json(200, resource("Running", ""))
        } else {
            Reply::Json(200, resource("Succeeded", "late\n"))
        }
    })
    .await;
    let done = run(&pool, Duration::from_secs(10)).await.unwrap();
    let total = posted.lock().unwrap().unwrap().elapsed();
    assert_eq!(done.stdout, "late\n");
    assert!(
        total < Duration::from_millis(1200 + 120 + 100),
        "ended {total:?} after the POST"
    );
}

#[tokio::test]
async fn through_a_100_ms_round_trip_the_end_is_seen_within_a_round_trip_and_a_tenth() {
    // A 100 ms round trip: the pool sees a request 50 ms after it arrives here (the status is
    // decided as of then) and its answer takes 100 ms in all. The operation ends 1 ms after the
    // pool saw the first poll past 1.2 s, the worst moment: the next poll must still see the
    // end within 1 RTT + max(100 ms, a tenth of the run). Polling an interval after each answer
    // came back (instead of after each poll went out) takes about 240 ms here.
    const RTT: Duration = Duration::from_millis(100);
    // (when the pool saw the POST, when the operation ends)
    let clock = Arc::new(Mutex::new((None::<Instant>, None::<Instant>)));
    let state = clock.clone();
    let pool = FakePool::start(move |req, _| {
        let seen = Instant::now() + RTT / 2;
        let mut state = state.lock().unwrap();
        let (status, body) = if req.method == "POST" {
            state.0 = Some(seen);
            (202, resource("Running", ""))
        } else {
            let posted = state.0.expect("posted first");
            match state.1 {
                Some(ends) if seen >= ends => (200, resource("Succeeded", "late\n")),
                Some(_) => (200, resource("Running", "")),
                None => {
                    if seen - posted >= Duration::from_millis(1200) {
                        state.1 = Some(seen + Duration::from_millis(1));
                    }
                    (200, resource("Running", ""))
                }
            }
        };
        Reply::Delay(RTT, Box::new(Reply::Json(status, body)))
    })
    .await;
    let done = run(&pool, Duration::from_secs(10)).await.unwrap();
    let answered = Instant::now();
    assert_eq!(done.stdout, "late\n");
    let (posted, ends) = *clock.lock().unwrap();
    let (posted, ends) = (posted.unwrap(), ends.unwrap());
    let allowed = RTT + ((ends - posted) / 10).max(Duration::from_millis(100));
    let late = answered.saturating_duration_since(ends);
    assert!(
        late <= allowed,
        "the run ended {late:?} after the operation (a run of {:?}); at most {allowed:?}",
        ends - posted
    );
}

#[tokio::test]
async fn canceled_and_nested_errors_are_never_an_empty_failure() {
    let pool = FakePool::start(|_, _| {
        Reply::Json(
            200,
            json!({"id": "e", "status": "Canceled", "result": {"stdout": "", "stderr": ""}}),
        )
    })
    .await;
    let done = run(&pool, Duration::from_secs(5)).await.unwrap();
    assert_eq!(done.status, ExecutionStatus::Failed);
    assert!(done.stderr.contains("cancelled"), "{}", done.stderr);

    let nested = FakePool::start(|_, _| {
        Reply::Json(
            200,
            json!({"id": "e", "status": "Failed", "error": {"error": {"code": "ExecutionTimedOut", "message": "the run took too long"}}}),
        )
    })
    .await;
    let done = run(&nested, Duration::from_secs(5)).await.unwrap();
    assert_eq!(done.status, ExecutionStatus::Failed);
    assert_eq!(done.stderr, "ExecutionTimedOut: the run took too long");
}
