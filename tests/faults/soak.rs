//! Soak: thousands of runs through the real binary; memory must not grow.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::common::lsp::*;
use crate::common::misbehaving::{Fault, MisbehavingPool};
use crate::support::*;

pub struct Soak {
    pub lines: Vec<String>,
    pub failure: Option<String>,
}

/// 5,000 runs through the real binary (fake pool, then local pool): memory must not grow.
pub async fn soak(env: &Env) -> Soak {
    let mut lines = Vec::new();
    let mut failure = None;
    for (name, settings, runs) in [
        ("fake pool", None, 5000usize),
        (
            "local pool",
            Some(json!({"endpoint": "local", "prewarm": false})),
            5000,
        ),
    ] {
        let pool = MisbehavingPool::start_https(|_, _| Fault::Ok("soak".into())).await;
        let settings =
            settings.unwrap_or_else(|| pool_settings(&pool, json!({"timeoutSeconds": 30})));
        let lsp = env.server(&format!("soak-{name}"), settings).await;
        let pid = lsp.child.as_ref().unwrap().id().unwrap();
        let uri = file_uri(&env.folder.join("soak.py"));
        lsp.open(&uri, "python", "n = 0\nn += 1\n").await;
        let started = Instant::now();
        let mut rss_at = Vec::new();
        let mut errors = 0;
        for i in 0..runs {
            let result = lsp.command("azure-sessions.run", json!({"uri": uri, "range": {"start": {"line": 1, "character": 0}, "end": {"line": 1, "character": 0}}})).await;
            if result.is_err() {
                errors += 1;
            }
            if i == 500 || i == runs - 1 {
                rss_at.push(rss_kib(pid, "VmRSS:"));
            }
            if started.elapsed() > Duration::from_secs(150) {
                lines.push(format!("{name}: stopped after {i} runs (time bound)"));
                break;
            }
        }
        let elapsed = started.elapsed();
        let (early, late) = (
            rss_at.first().copied().unwrap_or(0),
            rss_at.last().copied().unwrap_or(0),
        );
        lines.push(format!(
            "| {name} | {runs} | {errors} | {:.1} s | {:.0} | {:.1} MiB | {:.1} MiB | {:+.1} MiB |",
            elapsed.as_secs_f64(),
            runs as f64 / elapsed.as_secs_f64(),
            early as f64 / 1024.0,
            late as f64 / 1024.0,
            (late as f64 - early as f64) / 1024.0
        ));
        if errors > 0 {
            failure = Some(format!("soak on the {name}: {errors} runs failed"));
        }
        // The transcript keeps every run (bounded at 64 MiB); anything beyond ~1 KiB per run is a leak.
        if late > early + 16 * 1024 {
            failure = Some(format!(
                "soak on the {name}: RSS grew from {early} KiB to {late} KiB"
            ));
        }
    }
    Soak { lines, failure }
}
