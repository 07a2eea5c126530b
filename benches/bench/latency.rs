//! Rows 10: a warm run through a real network's round trip (20 ms, the delaying proxy of
//! `proxy.rs`), for each api: this project (editor-like client), the reqwest keep-alive client
//! and LangChain's tool, on the same fake pool, each through a proxy of its own. The goal: a run
//! takes at most one round trip plus 2 ms over the pool's own time, whatever the api. Then the
//! same over TLS, where a client that connects per run pays the TCP and the TLS handshakes.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::Ctx;
use crate::fake_pool::FakePool;
use crate::harness::*;
use crate::lsp::Lsp;
use crate::proxy::DelayProxy;
use crate::report::{Rounds, ms, p50, p99, verdict};
use crate::tls_pool::{TestTls, TlsPool};

/// The round trip the proxy adds.
pub const RTT: Duration = Duration::from_millis(20);
/// What a run may take over one round trip plus the pool's time.
const SLACK: Duration = Duration::from_millis(2);
const GOAL: &str = "≤ pool time + 1 RTT + 2 ms (p50 and p99)";

/// A raw client's request for one api: the path and body the project sends, and where the
/// answer's stdout is.
fn raw_request(api: &str, endpoint: &str, identifier: &str) -> (String, Value, &'static str) {
    let code = "print(1)";
    match api {
        "executions" => (
            executions_url(endpoint, identifier),
            executions_body(code),
            "/result/stdout",
        ),
        "legacy" => (
            format!(
                "{endpoint}/code/execute?api-version=2024-02-02-preview&identifier={identifier}"
            ),
            json!({"properties": {"codeInputType": "inline", "executionType": "synchronous", "code": code}}),
            "/properties/stdout",
        ),
        _ => (
            format!("{endpoint}/python/execute?identifier={identifier}"),
            json!({"properties": {"code": code}}),
            "/stdout",
        ),
    }
}

/// One client of a latency row.
enum Client {
    Project {
        lsp: Box<Lsp>,
        uri: String,
    },
    Raw {
        http: reqwest::Client,
        url: String,
        body: Value,
        stdout: &'static str,
    },
}

impl Client {
    fn project(file: &OneFile, lsp: Lsp) -> Client {
        Client::Project {
            lsp: Box::new(lsp),
            uri: file.uri.clone(),
        }
    }

    fn raw(http: &reqwest::Client, api: &str, endpoint: &str) -> Client {
        let (url, body, stdout) = raw_request(api, endpoint, "azs-latency-raw-0000000000000000");
        Client::Raw {
            http: http.clone(),
            url,
            body,
            stdout,
        }
    }

    /// One warm run, timed from sending to the parsed answer.
    async fn run(&self) -> Duration {
        let t = Instant::now();
        match self {
            Client::Project { lsp, uri } => {
                let outcome = lsp.run_line(uri, 0).await;
                let took = t.elapsed();
                check_outcome(&outcome, "1\n");
                took
            }
            Client::Raw {
                http,
                url,
                body,
                stdout,
            } => {
                let answer = reqwest_once(http, url, body).await;
                let took = t.elapsed();
                assert_eq!(answer.pointer(stdout), Some(&json!("1\n")), "{answer}");
                took
            }
        }
    }
}

/// Warms every client up, then times `rounds` rounds of `runs` runs of each, interleaved in
/// blocks so that drift on a noisy machine hits every client alike.
async fn interleaved(
    clients: &[&Client],
    warmup: usize,
    (rounds, runs): (usize, usize),
) -> Vec<Rounds> {
    for _ in 0..warmup {
        for client in clients {
            client.run().await;
        }
    }
    let block = 25;
    let mut all: Vec<Rounds> = clients.iter().map(|_| Rounds(vec![])).collect();
    let deadline = Instant::now() + Duration::from_secs(150);
    for _ in 0..rounds {
        let mut samples = vec![Vec::with_capacity(runs); clients.len()];
        while samples[0].len() < runs {
            assert!(Instant::now() < deadline, "latency rows took over 150 s");
            for (client, times) in clients.iter().zip(samples.iter_mut()) {
                for _ in 0..block.min(runs - times.len()) {
                    times.push(client.run().await);
                }
            }
        }
        for (rounds, times) in all.iter_mut().zip(samples) {
            rounds.0.push(times);
        }
    }
    all
}

/// A client's p50 and p99 (over rounds: the median of the rounds' own).
#[derive(Clone, Copy)]
struct Percentiles(Duration, Duration);

impl Percentiles {
    fn of(rounds: &Rounds) -> Percentiles {
        Percentiles(rounds.p50(), rounds.p99())
    }

    fn flat(samples: &[Duration]) -> Percentiles {
        Percentiles(p50(samples), p99(samples))
    }

    /// Time over the pool's time plus one round trip, at p50 and at p99, in ms (signed).
    fn over(self, pool: Percentiles) -> (f64, f64) {
        let diff = |a: Duration, b: Duration| (a.as_secs_f64() - (b + RTT).as_secs_f64()) * 1e3;
        (diff(self.0, pool.0), diff(self.1, pool.1))
    }
}

/// A row of times against the pool's time plus one round trip; the project's rows (no `note`)
/// have the goal.
fn row(ctx: &mut Ctx, what: String, times: Percentiles, pool: Percentiles, note: Option<String>) {
    let (o50, o99) = times.over(pool);
    let slack = SLACK.as_secs_f64() * 1e3;
    let (goal, verdict) = match note {
        Some(note) => ("(no goal)", note),
        None => (
            GOAL,
            verdict(o50 <= slack && o99 <= slack, || {
                let missed = [("p50", o50), ("p99", o99)]
                    .into_iter()
                    .filter(|(_, over)| *over > slack)
                    .map(|(p, over)| format!("{p} {:.3} ms", over - slack));
                missed.collect::<Vec<_>>().join(", ")
            }),
        ),
    };
    ctx.report.row(
        "10",
        what,
        ms(times.0),
        ms(times.1),
        format!("pool {} / {} + 1 RTT ({})", ms(pool.0), ms(pool.1), ms(RTT)),
        format!("over: {o50:+.3} ms / {o99:+.3} ms"),
        goal,
        verdict,
    );
}

/// 10: warm runs through a 20 ms round trip, over plain HTTP (every api) and over TLS.
pub async fn latency(ctx: &mut Ctx) {
    let (rounds, runs) = (ctx.n(3, 1), ctx.n(200, 30));
    let warmup = ctx.n(10, 3);
    let lc_counts = (ctx.n(100, 20), ctx.n(5, 2));
    let pool = FakePool::start(&ctx.pools, "1\n", Duration::ZERO, false);
    let http = reqwest_client(reqwest::Client::builder());
    let file = OneFile::new("latency", "print(1)\n");
    let label = format!("{} round trip (delaying proxy on loopback)", ms(RTT));

    let mut pool_legacy = Percentiles(Duration::ZERO, Duration::ZERO);
    for api in ["executions", "legacy", "custom"] {
        let (p_project, p_raw) = (
            DelayProxy::start(pool.addr, RTT),
            DelayProxy::start(pool.addr, RTT),
        );
        let settings = settings_with(&p_project.endpoint(), &json!({}), api);
        let project = Client::project(&file, file.editor(ctx, settings).await);
        let direct = Client::raw(&http, api, &pool.endpoint());
        let raw = Client::raw(&http, api, &p_raw.endpoint());
        let requests_before = pool.requests_total();
        let connections_before = p_project.connections();
        let chunks_before = p_project.chunks_up();
        let samples = interleaved(&[&direct, &raw, &project], warmup, (rounds, runs)).await;
        let project_requests =
            pool.requests_total() - requests_before - 2 * (rounds * runs + warmup);
        let new_connections = p_project.connections() - connections_before;
        let chunks = p_project.chunks_up() - chunks_before;
        let [pool_times, raw_times, project_times] =
            [0, 1, 2].map(|i| Percentiles::of(&samples[i]));
        row(
            ctx,
            format!(
                "{label}, api `{api}`: this project (editor-like client), {rounds} × {runs} warm runs (median of rounds)"
            ),
            project_times,
            pool_times,
            None,
        );
        row(
            ctx,
            format!("{label}, api `{api}`: reqwest keep-alive client, same proxy and pool"),
            raw_times,
            pool_times,
            Some(format!("{} TCP connection(s)", p_raw.connections())),
        );
        ctx.report.note(format!(
            "Latency, api `{api}`: the project sent {:.2} pool requests per run, each in {:.2} reads at the proxy, and opened {new_connections} TCP connection(s) during its {} runs (warm-up included; {} in all since `initialize`).",
            project_requests as f64 / (rounds * runs + warmup) as f64,
            chunks as f64 / project_requests.max(1) as f64,
            rounds * runs + warmup,
            p_project.connections(),
        ));
        if let Client::Project { lsp, .. } = project {
            lsp.stop().await;
        }
        if api == "legacy" {
            pool_legacy = pool_times;
        }
    }

    // LangChain speaks the legacy API only.
    let p_lc = DelayProxy::start(pool.addr, RTT);
    match langchain(ctx, &p_lc.endpoint(), lc_counts, &[], &[]).await {
        None => langchain_skipped(ctx, "10", "(no goal)"),
        Some(result) => {
            let invoke = samples_us(&result, "invoke_us");
            let execute = samples_us(&result, "execute_us");
            let runs = invoke.len() + execute.len() + lc_counts.1;
            row(
                ctx,
                format!(
                    "{label}, api `legacy`: LangChain `SessionsPythonREPLTool.invoke`, {} warm runs, same pool",
                    invoke.len()
                ),
                Percentiles::flat(&invoke),
                pool_legacy,
                Some(format!(
                    "{} TCP connections for {runs} runs (a new connection, so one more round trip, per run); `execute` alone: {} / {}",
                    p_lc.connections(),
                    ms(p50(&execute)),
                    ms(p99(&execute))
                )),
            );
        }
    }

    latency_tls(ctx, &file, &label).await;
}

/// The same over TLS, as against real Azure: the project and the reqwest client on the
/// executions api, LangChain on the legacy api, each through a proxy of its own.
async fn latency_tls(ctx: &mut Ctx, file: &OneFile, label: &str) {
    let (rounds, runs) = (ctx.n(3, 1), ctx.n(200, 30));
    let warmup = ctx.n(10, 3);
    let lc_counts = (ctx.n(100, 20), ctx.n(5, 2));
    let tls = TestTls::new();
    let dir = tempfile::tempdir().expect("temp");
    let ca = tls.write_ca(dir.path()).to_string_lossy().into_owned();
    let pool = TlsPool::start(&ctx.pools, &tls, "1\n");
    let (p_project, p_raw, p_lc) = (
        DelayProxy::start(pool.pool.addr, RTT),
        DelayProxy::start(pool.pool.addr, RTT),
        DelayProxy::start(pool.pool.addr, RTT),
    );
    let http = tls.reqwest_client();
    let settings = settings_with(
        &p_project.tls_endpoint(),
        &json!({"extraCaCertificates": [ca]}),
        "executions",
    );
    let project = Client::project(file, file.editor(ctx, settings).await);
    let direct = Client::raw(&http, "executions", &pool.endpoint());
    let raw = Client::raw(&http, "executions", &p_raw.tls_endpoint());
    let chunks_before = (p_project.chunks_up(), p_raw.chunks_up());
    let samples = interleaved(&[&direct, &raw, &project], warmup, (rounds, runs)).await;
    ctx.report.note(format!(
        "Latency over TLS: per run, the project's requests came in {:.2} reads at the proxy, the reqwest client's in {:.2} (HTTP/2 frames in TLS records).",
        (p_project.chunks_up() - chunks_before.0) as f64 / (rounds * runs + warmup) as f64,
        (p_raw.chunks_up() - chunks_before.1) as f64 / (rounds * runs + warmup) as f64,
    ));
    let [pool_times, raw_times, project_times] = [0, 1, 2].map(|i| Percentiles::of(&samples[i]));
    let label = format!("{label}, over TLS (test CA)");
    row(
        ctx,
        format!(
            "{label}, api `executions`: this project (editor-like client), {rounds} × {runs} warm runs (median of rounds)"
        ),
        project_times,
        pool_times,
        None,
    );
    row(
        ctx,
        format!("{label}, api `executions`: reqwest keep-alive client, same proxy and pool"),
        raw_times,
        pool_times,
        Some(format!(
            "{} TCP connection(s); the project's: {} since `initialize`",
            p_raw.connections(),
            p_project.connections()
        )),
    );
    if let Client::Project { lsp, .. } = project {
        lsp.stop().await;
    }
    let env = [("REQUESTS_CA_BUNDLE", ca.as_str())];
    match langchain(ctx, &p_lc.tls_endpoint(), lc_counts, &env, &[]).await {
        None => langchain_skipped(ctx, "10", "(no goal)"),
        Some(result) => {
            let invoke = samples_us(&result, "invoke_us");
            let total = invoke.len() + samples_us(&result, "execute_us").len() + lc_counts.1;
            row(
                ctx,
                format!(
                    "{label}, api `legacy`: LangChain `SessionsPythonREPLTool.invoke`, {} warm runs, vs the pool's time on the executions api",
                    invoke.len()
                ),
                Percentiles::flat(&invoke),
                pool_times,
                Some(format!(
                    "{} TCP connections for {total} runs (per run: a TCP handshake and a TLS 1.3 handshake, two more round trips)",
                    p_lc.connections()
                )),
            );
        }
    }
}
