//! Rows 1 and 2: per-run overhead against a keep-alive reqwest client, and LangChain's tool.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::Ctx;
use crate::fake_pool::FakePool;
use crate::harness::*;
use crate::lsp::{Lsp, Profile};
use crate::report::{Rounds, ms, p50, p99, ratio, signed_ms, verdict};

/// Where each client of the per-run rows (1, 2 and 9) sends its runs.
pub struct Targets {
    pub reference: String,
    pub minimal: String,
    pub editor: String,
    pub legacy: String,
    /// Merged into every server's settings (`extraCaCertificates` over TLS).
    pub extra: Value,
}

/// The timings of the per-run rows: the reqwest reference and three servers, interleaved.
pub struct PerRun {
    pub t_ref: Rounds,
    pub t_min: Rounds,
    pub t_ed: Rounds,
    pub t_leg: Rounds,
    pub rounds: usize,
    pub measured_runs: usize,
    /// Executions per run at the pools (1.00 = each run sent once).
    pub per_run_requests: f64,
    /// Requests that run no code (prewarm `HEAD`, `GET /session`) during the measured runs.
    pub extra_requests: usize,
    /// Connections the pools accepted during the measured runs (after the warm-up).
    pub new_connections: usize,
    /// Server→client requests the editor-like client got per run.
    pub editor_progress: f64,
    pub editor_lens: f64,
}

/// Starts the three servers (minimal client, editor-like client, editor-like on the legacy
/// API), warms them and the reference client up, and times `rounds × runs` one-line runs of
/// each, interleaved in blocks. `counts` gives (executions, prewarm requests, connections) seen by the pools.
pub async fn per_run(
    ctx: &Ctx,
    targets: &Targets,
    client: &reqwest::Client,
    counts: &dyn Fn() -> (usize, usize, usize),
) -> PerRun {
    let runs = ctx.n(1000, 100);
    let warmup = ctx.n(50, 10);
    let dir = tempfile::tempdir().expect("temp");
    let (folder, uri) = workspace(dir.path(), "project", "print(1)\n");
    let folders = [folder];
    let start = |profile: Profile, endpoint: &str, legacy: bool| {
        let api = if legacy { "legacy" } else { "executions" };
        let settings = settings_with(endpoint, &targets.extra, api);
        Lsp::spawn(&ctx.bin, profile, settings, &folders)
    };
    let minimal = start(Profile::Minimal, &targets.minimal, false).await;
    let editor = start(Profile::Editor, &targets.editor, false).await;
    let legacy = start(Profile::Editor, &targets.legacy, true).await;
    for lsp in [&minimal, &editor, &legacy] {
        lsp.open(&uri, "print(1)\n").await;
    }
    let url = executions_url(&targets.reference, "azs-reference-client-0000000000000000");
    let body = executions_body("print(1)");

    for _ in 0..warmup {
        reqwest_once(client, &url, &body).await;
        for lsp in [&minimal, &editor, &legacy] {
            check_outcome(&lsp.run_line(&uri, 0).await, "1\n");
        }
    }
    let (posts_before, prewarms_before, connections_before) = counts();
    // Three rounds of `runs` runs; each row gives the median over rounds of the round's p50/p99.
    let rounds = ctx.n(3, 1);
    let (mut r_ref, mut r_min, mut r_ed, mut r_leg) = (vec![], vec![], vec![], vec![]);
    // Interleaved in blocks so that drift on a noisy machine hits every client alike.
    let block = 50;
    let deadline = Instant::now() + Duration::from_secs(240);
    for _ in 0..rounds {
        let (mut t_ref, mut t_min, mut t_ed, mut t_leg) = (vec![], vec![], vec![], vec![]);
        for _ in 0..runs.div_ceil(block) {
            assert!(Instant::now() < deadline, "per-run rows took over 240 s");
            for _ in 0..block {
                let t = Instant::now();
                let answer = reqwest_once(client, &url, &body).await;
                t_ref.push(t.elapsed());
                assert_eq!(answer["result"]["stdout"], "1\n");
            }
            for (lsp, times) in [
                (&minimal, &mut t_min),
                (&editor, &mut t_ed),
                (&legacy, &mut t_leg),
            ] {
                for _ in 0..block {
                    let t = Instant::now();
                    let outcome = lsp.run_line(&uri, 0).await;
                    times.push(t.elapsed());
                    check_outcome(&outcome, "1\n");
                }
            }
        }
        r_ref.push(t_ref);
        r_min.push(t_min);
        r_ed.push(t_ed);
        r_leg.push(t_leg);
    }
    let (posts_after, prewarms_after, connections_after) = counts();
    let measured_runs = runs.div_ceil(block) * block;
    let total_runs = measured_runs * rounds;
    let result = PerRun {
        t_ref: Rounds(r_ref),
        t_min: Rounds(r_min),
        t_ed: Rounds(r_ed),
        t_leg: Rounds(r_leg),
        rounds,
        measured_runs,
        per_run_requests: (posts_after - posts_before) as f64 / (total_runs * 4) as f64,
        extra_requests: prewarms_after - prewarms_before,
        new_connections: connections_after - connections_before,
        editor_progress: editor.seen("window/workDoneProgress/create") as f64
            / (total_runs + warmup) as f64,
        editor_lens: editor.seen("workspace/codeLens/refresh") as f64
            / (total_runs + warmup) as f64,
    };
    for lsp in [minimal, editor, legacy] {
        lsp.stop().await;
    }
    result
}

/// The overhead rows (LSP − reqwest): the minimal client's times, then the overhead of both
/// client profiles. `setup` says what the runs went over, `over` is put after "overhead".
pub fn overhead_rows(ctx: &mut Ctx, section: &'static str, setup: &str, over: &str, m: &PerRun) {
    let (r50, r99) = (m.t_ref.p50(), m.t_ref.p99());
    ctx.report.row(
        section,
        format!("{setup}overhead per run, {} × {} one-line runs (median of rounds), LSP over stdio vs reqwest keep-alive{over}, minimal client (no server→client requests)", m.rounds, m.measured_runs),
        ms(m.t_min.p50()),
        ms(m.t_min.p99()),
        format!("{} / {}", ms(r50), ms(r99)),
        ratio(m.t_min.p50(), r50),
        "overhead p50 < 0.5 ms, p99 < 2 ms",
        "",
    );
    for (label, times) in [
        ("minimal client", &m.t_min),
        (
            "editor-like client (progress, configuration, lens refresh)",
            &m.t_ed,
        ),
    ] {
        let o50 = times.p50().saturating_sub(r50);
        let o99 = times.p99().saturating_sub(r99);
        let met = o50 < Duration::from_micros(500) && o99 < Duration::from_millis(2);
        ctx.report.row(
            section,
            format!("→ overhead{over} (LSP − reqwest), {label}"),
            signed_ms(times.p50(), r50),
            signed_ms(times.p99(), r99),
            "0".to_string(),
            "",
            "p50 < 0.5 ms, p99 < 2 ms",
            verdict(met, || {
                let mut parts = vec![];
                if o50 >= Duration::from_micros(500) {
                    parts.push(format!("p50 {}", ms(o50 - Duration::from_micros(500))));
                }
                if o99 >= Duration::from_millis(2) {
                    parts.push(format!("p99 {}", ms(o99 - Duration::from_millis(2))));
                }
                parts.join(", ")
            }),
        );
    }
}

/// 1 and 2: per-run overhead against a keep-alive reqwest client, and LangChain's tool.
pub async fn overhead_and_peer(ctx: &mut Ctx, peer: bool, overhead: bool) {
    let pool = FakePool::start(&ctx.pools, "1\n", Duration::ZERO, false);
    let endpoint = pool.endpoint();
    let targets = Targets {
        reference: endpoint.clone(),
        minimal: endpoint.clone(),
        editor: endpoint.clone(),
        legacy: endpoint.clone(),
        extra: json!({}),
    };
    let client = reqwest_client(reqwest::Client::builder());
    let counts = || (pool.executions(), pool.prewarms(), pool.peers());
    let m = per_run(ctx, &targets, &client, &counts).await;
    let (t_ed, t_leg) = (&m.t_ed, &m.t_leg);
    ctx.plain.editor = Some(t_ed.p50());

    if overhead {
        let (r50, r99) = (m.t_ref.p50(), m.t_ref.p99());
        overhead_rows(ctx, "1", "", "", &m);
        ctx.report.row(
            "1",
            "editor-like client, total time per run",
            ms(t_ed.p50()),
            ms(t_ed.p99()),
            format!("{} / {}", ms(r50), ms(r99)),
            ratio(t_ed.p50(), r50),
            "",
            "",
        );
        ctx.report.note(format!(
            "Overhead runs: {:.2} pool requests per run (1.00 = no extra request); {} requests that run no code (prewarm `HEAD`, `GET /session`) during the measured runs; the editor-like client got {:.2} `window/workDoneProgress/create` and {:.2} `workspace/codeLens/refresh` requests per run.",
            m.per_run_requests, m.extra_requests, m.editor_progress, m.editor_lens
        ));
    }

    if peer {
        let lc_pool = FakePool::start(&ctx.pools, "1\n", Duration::ZERO, false);
        let counts = (ctx.n(1000, 100), ctx.n(50, 10));
        match langchain(ctx, &lc_pool.endpoint(), counts, &[], &[]).await {
            None => langchain_skipped(ctx, "2", "project faster per run"),
            Some(result) => {
                let invoke = samples_us(&result, "invoke_us");
                let execute = samples_us(&result, "execute_us");
                ctx.plain.langchain = Some(p50(&invoke));
                let connections = lc_pool.peers();
                let lc_posts = lc_pool.count("POST /code/execute");
                let faster = t_ed.p50() < p50(&invoke);
                ctx.report.row(
                    "2",
                    format!("LangChain `SessionsPythonREPLTool.invoke`, {} runs (legacy API), vs this project (editor-like client)", invoke.len()),
                    ms(p50(&invoke)),
                    ms(p99(&invoke)),
                    format!("{} / {}", ms(t_ed.p50()), ms(t_ed.p99())),
                    format!("LangChain / project = {} (p50), {} (p99)", ratio(p50(&invoke), t_ed.p50()), ratio(p99(&invoke), t_ed.p99())),
                    "project faster per run",
                    verdict(faster, || "see notes".into()),
                );
                ctx.report.row(
                    "2",
                    "LangChain `execute` (HTTP call only, no tool machinery), vs project on the same legacy API",
                    ms(p50(&execute)),
                    ms(p99(&execute)),
                    format!("{} / {}", ms(t_leg.p50()), ms(t_leg.p99())),
                    format!("{} (p50)", ratio(p50(&execute), t_leg.p50())),
                    "",
                    "",
                );
                ctx.report.note(format!(
                    "LangChain opened {connections} TCP connections for {lc_posts} executions (`requests.post` without a `Session`: no keep-alive); importing the package took {:.2} s.",
                    result["import_seconds"].as_f64().unwrap_or(0.0)
                ));
            }
        }
    }
    pool.reset_peers();
}
