//! Rows 11: a run the pool answers as a long-running operation (`202 Accepted`,
//! `Operation-Location`, status `Running`, no `Retry-After`) that ends D after it started,
//! through the 20 ms round trip of the delaying proxy. Measured: from the operation's end (at
//! the pool) to the run's end (at the editor), on one clock. The goal: at most one round trip
//! plus the larger of 100 ms and a tenth of D.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::fake_pool::bind_loopback;
use crate::harness::{OneFile, check_outcome, settings};
use crate::latency::RTT;
use crate::lsp::Lsp;
use crate::proxy::DelayProxy;
use crate::report::{ms, p50, verdict};
use crate::{API_VERSION, Ctx};

#[derive(Default)]
struct LroState {
    /// How long the next operation runs.
    duration: Mutex<Duration>,
    next: AtomicUsize,
    /// Operation id → when it ends.
    operations: Mutex<HashMap<usize, Instant>>,
    /// When the latest operation ends.
    last_end: Mutex<Option<Instant>>,
    polls: AtomicUsize,
}

fn resource(id: usize, status: &str) -> String {
    let mut body = json!({"id": format!("exec-{id}"), "identifier": "x",
                          "executionType": "Synchronous", "status": status});
    if status == "Succeeded" {
        body["result"] = json!({"stdout": "1\n", "stderr": "", "executionResult": null,
                                "executionTimeInMilliseconds": 3});
    }
    body.to_string()
}

async fn handle(State(state): State<Arc<LroState>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let _ = axum::body::to_bytes(body, 1 << 20).await;
    let path = parts.uri.path();
    let json_type = ("content-type", "application/json".to_owned());
    if parts.method == Method::POST && path.ends_with("/executions") {
        let id = state.next.fetch_add(1, Ordering::SeqCst);
        let ends = Instant::now() + *state.duration.lock().unwrap();
        state.operations.lock().unwrap().insert(id, ends);
        *state.last_end.lock().unwrap() = Some(ends);
        let location = format!("/operations/op-{id}?api-version={API_VERSION}");
        return (
            StatusCode::ACCEPTED,
            [("operation-location", location), json_type],
            resource(id, "Running"),
        )
            .into_response();
    }
    let polled = path
        .strip_prefix("/operations/op-")
        .and_then(|id| id.parse::<usize>().ok());
    if parts.method == Method::GET
        && let Some(id) = polled
    {
        state.polls.fetch_add(1, Ordering::SeqCst);
        let ends = state.operations.lock().unwrap().get(&id).copied();
        let Some(ends) = ends else {
            return (StatusCode::NOT_FOUND, "no such operation").into_response();
        };
        let status = if Instant::now() >= ends {
            "Succeeded"
        } else {
            "Running"
        };
        return ([json_type], resource(id, status)).into_response();
    }
    if parts.method == Method::GET && path.ends_with("/session") {
        let session = r#"{"identifier":"x","createdAt":"2026-01-01T00:00:00Z","etag":"e1"}"#;
        return ([json_type], session).into_response();
    }
    (StatusCode::NOT_FOUND, "").into_response()
}

/// The allowed lateness of a run polled for `duration` through `rtt`.
fn allowed(rtt: Duration, duration: Duration) -> Duration {
    rtt + (duration / 10).max(Duration::from_millis(100))
}

/// 11: long-running operations of 300 ms, 2 s and 10 s, polled through a 20 ms round trip,
/// and of 1.2 s through a 100 ms one (a far region), where a poll's own round trip is about
/// what the goal leaves for the wait between polls.
pub async fn long_running(ctx: &mut Ctx) {
    let state = Arc::new(LroState::default());
    let (listener, addr) = bind_loopback();
    let app = axum::Router::new()
        .fallback(handle)
        .with_state(state.clone());
    ctx.pools.spawn(async move {
        let listener = tokio::net::TcpListener::from_std(listener).expect("tokio listener");
        let _ = axum::serve(listener, app).await;
    });
    let file = OneFile::new("long-running", "print(1)\n");
    let (ms300, s2) = (Duration::from_millis(300), Duration::from_secs(2));
    let near: Vec<(Duration, usize)> = if ctx.quick {
        vec![(ms300, 2), (s2, 1)]
    } else {
        vec![(ms300, 6), (s2, 4), (Duration::from_secs(10), 2)]
    };
    let far = vec![(Duration::from_millis(1200), ctx.n(8, 2))];
    for (rtt, cases) in [(RTT, near), (Duration::from_millis(100), far)] {
        let proxy = DelayProxy::start(addr, rtt);
        let lsp = file.editor(ctx, settings(&proxy.endpoint())).await;
        // The connection is up before the measured runs.
        *state.duration.lock().unwrap() = Duration::from_millis(50);
        check_outcome(&lsp.run_line(&file.uri, 0).await, "1\n");
        for (duration, reps) in cases {
            measure(ctx, &state, &lsp, &file.uri, rtt, duration, reps).await;
        }
        lsp.stop().await;
    }
}

/// `reps` runs of about `duration`, each a little longer than the one before so that the
/// operation ends at a different point of the poll schedule each time; one row.
async fn measure(
    ctx: &mut Ctx,
    state: &LroState,
    lsp: &Lsp,
    uri: &str,
    rtt: Duration,
    duration: Duration,
    reps: usize,
) {
    // Spread over a whole poll cycle: no schedule that meets the goal polls less often.
    let step = allowed(rtt, duration) / reps as u32;
    let (mut late, mut polls, mut worst) = (vec![], vec![], (Duration::ZERO, duration));
    for rep in 0..reps {
        let this = duration + step * rep as u32;
        *state.duration.lock().unwrap() = this;
        let polls_before = state.polls.load(Ordering::SeqCst);
        let outcome = lsp.run_line(uri, 0).await;
        let ended = Instant::now();
        check_outcome(&outcome, "1\n");
        let end = state
            .last_end
            .lock()
            .unwrap()
            .expect("the pool saw the run");
        let lateness = ended.saturating_duration_since(end);
        late.push(lateness);
        polls.push(state.polls.load(Ordering::SeqCst) - polls_before);
        let over = lateness.saturating_sub(allowed(rtt, this));
        if over > worst.0 {
            worst = (over, this);
        }
    }
    let max = *late.iter().max().unwrap();
    ctx.report.row(
        "11",
        format!(
            "long-running run of {} (202 + `Operation-Location`, `Running`, no `Retry-After`) through a {} round trip: operation's end → run's end ({reps} runs, D + k × {})",
            ms(duration),
            ms(rtt),
            ms(step)
        ),
        ms(p50(&late)),
        ms(max),
        format!("polls per run: {polls:?}"),
        "",
        format!(
            "≤ 1 RTT + max(100 ms, D/10) = {}",
            ms(allowed(rtt, duration))
        ),
        verdict(worst.0.is_zero(), || {
            format!("{} (run of {})", ms(worst.0), ms(worst.1))
        }),
    );
}
