//! Row 3: the cost of signing in with a slow `az`, with and without prewarm.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::Ctx;
use crate::harness::{check_outcome, workspace};
use crate::lsp::{Lsp, LspOptions, Profile};
use crate::report::{ms, p50, p99, ratio, verdict};
use crate::tls_pool::{TestTls, TlsPool};

/// 3: sign-in cost with a fake `az` that takes 800 ms.
pub async fn signin(ctx: &mut Ctx) {
    let runs = ctx.n(100, 20);
    let reps = ctx.n(3, 1);
    // Tokens go only over https: the pool speaks TLS with a test CA the server trusts.
    let tls = TestTls::new();
    let pool = TlsPool::start(&ctx.pools, &tls, "1\n");
    let dir = tempfile::tempdir().expect("temp");
    let ca_path = tls.write_ca(dir.path());
    let bin_dir = dir.path().join("bin");
    std::fs::create_dir_all(&bin_dir).unwrap();
    let calls = dir.path().join("az-calls");
    let az = bin_dir.join("az");
    std::fs::write(
        &az,
        format!(
            "#!/bin/sh\necho call >> '{}'\nsleep 0.8\nnow=$(date +%s)\nprintf '{{\"accessToken\":\"bench-az-token\",\"expires_on\":%s,\"tokenType\":\"Bearer\"}}' $((now + 3600))\n",
            calls.display()
        ),
    )
    .unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&az, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let az_calls = || {
        std::fs::read_to_string(&calls)
            .map(|s| s.lines().count())
            .unwrap_or(0)
    };
    let (folder, uri) = workspace(dir.path(), "signin", "print(1)\n");
    let folders = [folder];
    // (prewarm, wait after open before the first run)
    let cases: [(bool, Duration, &str); 3] = [
        (false, Duration::from_millis(1500), "prewarm off"),
        (
            true,
            Duration::from_millis(1500),
            "prewarm on, first run 1.5 s after the workspace opens",
        ),
        (
            true,
            Duration::ZERO,
            "prewarm on, first run right after `initialized`",
        ),
    ];
    let mut warm_reference = Duration::ZERO;
    for (prewarm, think, label) in cases {
        let mut firsts = vec![];
        let mut later = vec![];
        let mut calls_after_first = vec![];
        let mut calls_later = vec![];
        for _ in 0..reps {
            let _ = std::fs::remove_file(&calls);
            let lsp = Lsp::start(&ctx.bin, LspOptions {
                profile: Profile::Editor,
                settings: json!({"endpoint": pool.endpoint(), "auth": "azure-cli", "prewarm": prewarm, "extraCaCertificates": [ca_path]}),
                folders: &folders,
                path_prefix: Some(&bin_dir),
            })
            .await;
            lsp.open(&uri, "print(1)\n").await;
            tokio::time::sleep(think).await;
            let t = Instant::now();
            let outcome = lsp.run_line(&uri, 0).await;
            firsts.push(t.elapsed());
            check_outcome(&outcome, "1\n");
            calls_after_first.push(az_calls());
            for _ in 1..runs {
                let t = Instant::now();
                let outcome = lsp.run_line(&uri, 0).await;
                later.push(t.elapsed());
                check_outcome(&outcome, "1\n");
            }
            calls_later.push(az_calls() - calls_after_first.last().unwrap());
            lsp.stop().await;
        }
        let first = p50(&firsts);
        let (l50, l99) = (p50(&later), p99(&later));
        if !prewarm {
            warm_reference = l99;
        }
        let no_az_later = calls_later.iter().all(|&c| c == 0);
        ctx.report.row(
            "3",
            format!("sign-in (fake `az`, 800 ms), {label}: first run (median of {reps})"),
            ms(first),
            ms(*firsts.iter().max().unwrap()),
            format!("runs 2–{runs}: {} / {}", ms(l50), ms(l99)),
            ratio(first, l50),
            if !prewarm {
                "(no goal: the cost prewarm removes)"
            } else if think.is_zero() {
                "(no goal: `az` is still answering; the run waits for the prewarm's fetch, no second call)"
            } else {
                "first run ≤ warm p99 + 1 ms (first use of a connection and of the session's state)"
            },
            if prewarm && !think.is_zero() {
                let allowed = l99.max(warm_reference) + Duration::from_millis(1);
                verdict(first <= allowed, || {
                    format!("{} ({} vs a warm p99 of {})", ms(first.saturating_sub(allowed)), ms(first), ms(l99.max(warm_reference)))
                })
            } else {
                String::new()
            },
        );
        ctx.report.row(
            "3",
            format!("sign-in, {label}: `az` calls in the first run / in runs 2–{runs}"),
            format!("{:?}", calls_after_first),
            format!("{:?}", calls_later),
            "",
            "",
            "runs 2–100 call `az` 0 times",
            verdict(no_az_later, || format!("{:?} calls", calls_later)),
        );
    }
}
