//! Row 5: 10 MiB of stdout: time, memory and completeness.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::Ctx;
use crate::fake_pool::FakePool;
use crate::harness::*;
use crate::report::{mib, ms, p50, ratio, verdict};

/// 5: 10 MiB of stdout.
pub async fn large_output(ctx: &mut Ctx) {
    let reps = ctx.n(3, 1);
    let size = 10usize << 20;
    let line = format!("{}\n", "x".repeat(99));
    let stdout = line.repeat(size / line.len());
    let pool = FakePool::start(&ctx.pools, &stdout, Duration::ZERO, false);
    let file = OneFile::new("large", "print('x' * 99)\n");
    let (mut t_run, mut t_out, mut growth, mut idle_rss) = (vec![], vec![], vec![], vec![]);
    let mut growth_run = vec![];
    let (mut delivered, mut transcript_len) = (vec![], vec![]);
    for _ in 0..reps {
        let lsp = file.editor(ctx, settings(&pool.endpoint())).await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        let (idle, _) = lsp.rss();
        idle_rss.push(idle);
        let t = Instant::now();
        let outcome = lsp
            .run_line(&file.uri, 0)
            .await
            .expect("the large run succeeds");
        t_run.push(t.elapsed());
        delivered.push(outcome["stdout"].as_str().map_or(0, str::len) as u64);
        let output_uri = outcome["outputUri"].as_str().expect("outputUri").to_owned();
        drop(outcome);
        tokio::time::sleep(Duration::from_millis(200)).await;
        growth_run.push(lsp.rss().1.saturating_sub(idle));
        let t = Instant::now();
        let text = lsp
            .request("azure-sessions/output", json!({"uri": output_uri}))
            .await
            .expect("transcript");
        t_out.push(t.elapsed());
        transcript_len.push(text["text"].as_str().map_or(0, str::len) as u64);
        tokio::time::sleep(Duration::from_millis(200)).await;
        let (_, peak) = lsp.rss();
        growth.push(peak.saturating_sub(idle));
        lsp.stop().await;
    }
    let client = reqwest_client(reqwest::Client::builder());
    let url = executions_url(&pool.endpoint(), "azs-reference-large");
    let body = executions_body("print('x' * 99)");
    let mut t_ref = vec![];
    for _ in 0..reps {
        let t = Instant::now();
        let answer = reqwest_once(&client, &url, &body).await;
        t_ref.push(t.elapsed());
        assert_eq!(
            answer["result"]["stdout"].as_str().map(str::len),
            Some(stdout.len())
        );
    }
    let max_growth = *growth.iter().max().unwrap();
    let complete = delivered.iter().all(|&d| d == stdout.len() as u64)
        && transcript_len.iter().all(|&t| t >= stdout.len() as u64);
    ctx.report.note(format!(
        "Large output: the pool sent {} bytes of stdout; `RunOutcome.stdout` carried {:?} bytes and the transcript text was {:?} bytes{}.",
        stdout.len(),
        delivered,
        transcript_len,
        if complete { " (complete)" } else { " (NOT the whole output)" }
    ));
    let limit = 4 * stdout.len() as u64;
    ctx.report.row(
        "5",
        format!(
            "large output ({}): run → `RunOutcome` (median / max of {reps})",
            mib(stdout.len() as u64)
        ),
        ms(p50(&t_run)),
        ms(*t_run.iter().max().unwrap()),
        format!("reqwest POST + JSON parse: {}", ms(p50(&t_ref))),
        ratio(p50(&t_run), p50(&t_ref)),
        "",
        "",
    );
    ctx.report.row(
        "5",
        "large output: `azure-sessions/output` (transcript) served",
        ms(p50(&t_out)),
        ms(*t_out.iter().max().unwrap()),
        "",
        "",
        "",
        "",
    );
    ctx.report.row(
        "5",
        "large output: server peak RSS above idle after the run, before the transcript is asked for",
        mib(p50_u64(&growth_run)),
        mib(*growth_run.iter().max().unwrap()),
        "",
        format!("{:.1}× output", *growth_run.iter().max().unwrap() as f64 / stdout.len() as f64),
        "",
        "",
    );
    ctx.report.row(
        "5",
        "large output: server peak RSS above idle, run + transcript served (VmHWM − idle VmRSS)",
        mib(p50_u64(&growth)),
        mib(max_growth),
        format!("idle {}", mib(p50_u64(&idle_rss))),
        format!("{:.1}× output", max_growth as f64 / stdout.len() as f64),
        format!("< 4× output ({})", mib(limit)),
        verdict(max_growth < limit, || {
            format!(
                "{} ({:.1}× the output); why: the answer is copied 3× on its way out (tower-lsp's `to_value`, `to_string` growing to 16 MiB, the write buffer, which keeps its size) besides the transcript's copy; see “Large output” below",
                mib(max_growth - limit),
                max_growth as f64 / stdout.len() as f64
            )
        }),
    );
}

pub fn p50_u64(values: &[u64]) -> u64 {
    let mut sorted = values.to_vec();
    sorted.sort();
    sorted[(sorted.len() - 1) / 2]
}
