//! Row 6: many workspaces running at once: throughput, memory and per-session order.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::Ctx;
use crate::fake_pool::FakePool;
use crate::harness::{settings, workspace};
use crate::lsp::{Lsp, Profile, answer, run_line_params};
use crate::report::{mib, ms, p50, p99, ratio, verdict};

/// 6: 50 workspaces × 20 runs at once.
pub async fn scale(ctx: &mut Ctx) {
    let (n_ws, n_runs) = if ctx.quick { (10, 5) } else { (50, 20) };
    for (profile, delay) in [
        (Profile::Editor, Duration::ZERO),
        (Profile::Minimal, Duration::ZERO),
        (Profile::Editor, Duration::from_millis(20)),
    ] {
        let pool = FakePool::start(&ctx.pools, "ok\n", delay, true);
        let dir = tempfile::tempdir().expect("temp");
        let mut folders = vec![];
        let mut docs = vec![];
        for w in 0..n_ws {
            let text: String = (0..n_runs)
                .map(|r| format!("print('w{w} r{r}')\n"))
                .collect();
            let (folder, uri) = workspace(dir.path(), &format!("ws{w:02}"), &text);
            folders.push(folder);
            docs.push((uri, text));
        }
        let lsp = Lsp::spawn(&ctx.bin, profile, settings(&pool.endpoint()), &folders).await;
        for (uri, text) in &docs {
            lsp.open(uri, text).await;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        let (idle, _) = lsp.rss();
        let started = Instant::now();
        let mut receivers = Vec::with_capacity(n_ws * n_runs);
        for r in 0..n_runs {
            for (uri, _) in &docs {
                receivers.push(
                    lsp.start_request("workspace/executeCommand", run_line_params(uri, r as u32))
                        .await,
                );
            }
        }
        let mut ok = 0;
        let mut failed = 0;
        let mut latencies = vec![];
        for rx in receivers {
            match answer(rx).await {
                Ok(o) if o["status"] == "Succeeded" => {
                    ok += 1;
                    latencies.push(started.elapsed());
                }
                _ => failed += 1,
            }
        }
        let wall = started.elapsed();
        let (_, peak) = lsp.rss();
        // Order per session: every identifier sees one workspace's runs r0, r1, … in order.
        let codes = pool.state.codes.lock().unwrap().clone();
        let mut by_identifier: HashMap<String, Vec<(usize, usize)>> = HashMap::new();
        for (identifier, code) in &codes {
            let parse = |tag: char| {
                code.split(|c: char| !c.is_ascii_alphanumeric())
                    .find_map(|t| t.strip_prefix(tag).and_then(|n| n.parse::<usize>().ok()))
            };
            if let (Some(w), Some(r)) = (parse('w'), parse('r')) {
                by_identifier
                    .entry(identifier.clone())
                    .or_default()
                    .push((w, r));
            }
        }
        let in_order = |runs: &Vec<(usize, usize)>| {
            runs.len() == n_runs
                && runs.iter().all(|(w, _)| *w == runs[0].0)
                && runs.iter().enumerate().all(|(i, (_, r))| *r == i)
        };
        let sessions_in_order = by_identifier.values().filter(|runs| in_order(runs)).count();
        let ordered = by_identifier.len() == n_ws && sessions_in_order == n_ws;
        if !ordered {
            let example = by_identifier
                .values()
                .find(|runs| !in_order(runs))
                .map(|runs| {
                    runs.iter()
                        .map(|(_, r)| r.to_string())
                        .collect::<Vec<_>>()
                        .join(",")
                })
                .unwrap_or_default();
            ctx.report.note(format!(
                "Scale ({}): runs reached the pool out of the order they were sent in {} of {} sessions; e.g. run order {example}.",
                if profile == Profile::Editor { "editor-like client" } else { "minimal client" },
                by_identifier.len() - sessions_in_order,
                by_identifier.len()
            ));
        }
        let all_ok = ok == n_ws * n_runs && failed == 0;
        let client = if profile == Profile::Editor {
            "editor-like client"
        } else {
            "minimal client"
        };
        let label = if delay.is_zero() {
            format!("{client}, pool answers at once")
        } else {
            format!("{client}, pool takes {} per execution", ms(delay))
        };
        ctx.report.row(
            "6",
            format!("scale: {n_ws} workspaces × {n_runs} runs sent at once, {label}: wall time / runs per second"),
            ms(wall),
            format!("{:.0} runs/s", (n_ws * n_runs) as f64 / wall.as_secs_f64()),
            if delay.is_zero() {
                String::new()
            } else {
                format!("serial floor per session {}", ms(delay * n_runs as u32))
            },
            if delay.is_zero() { String::new() } else { ratio(wall, delay * n_runs as u32) },
            "all succeed, order kept",
            verdict(all_ok && ordered, || {
                format!(
                    "{failed} failed runs, per-session order broken in {} of {n_ws} sessions",
                    n_ws - sessions_in_order.min(n_ws)
                )
            }),
        );
        ctx.report.row(
            "6",
            format!("scale ({label}): completion time of a run (from the burst) / server peak RSS"),
            ms(p50(&latencies)),
            ms(p99(&latencies)),
            format!("peak RSS {} (idle {})", mib(peak), mib(idle)),
            "",
            "",
            format!(
                "{ok}/{} succeeded, per-session order {}",
                n_ws * n_runs,
                if ordered { "kept" } else { "BROKEN" }
            ),
        );
        lsp.stop().await;
    }
}
