//! Row 7: start-up time, idle memory and binary size.

use std::time::Duration;

use crate::Ctx;
use crate::fake_pool::FakePool;
use crate::harness::{OneFile, settings};
use crate::large_output::p50_u64;
use crate::report::{mib, ms, p50, p99, verdict};

/// 7: footprint.
pub async fn footprint(ctx: &mut Ctx) {
    let reps = ctx.n(20, 5);
    let pool = FakePool::start(&ctx.pools, "1\n", Duration::ZERO, false);
    let file = OneFile::new("footprint", "print(1)\n");
    let mut init = vec![];
    let mut idle = vec![];
    for _ in 0..reps {
        let lsp = file.editor(ctx, settings(&pool.endpoint())).await;
        init.push(lsp.init_time);
        tokio::time::sleep(Duration::from_millis(300)).await;
        idle.push(lsp.rss().0);
        lsp.stop().await;
    }
    let size = std::fs::metadata(&ctx.bin).map(|m| m.len()).unwrap_or(0);
    ctx.report.row(
        "7",
        format!("footprint: spawn → `initialize` result ({reps} spawns)"),
        ms(p50(&init)),
        ms(p99(&init)),
        "",
        "",
        "< 50 ms",
        verdict(p99(&init) < Duration::from_millis(50), || {
            ms(p99(&init) - Duration::from_millis(50))
        }),
    );
    let idle_max = *idle.iter().max().unwrap();
    ctx.report.row(
        "7",
        "footprint: idle RSS (initialized, one workspace, one document, prewarmed)",
        mib(p50_u64(&idle)),
        mib(idle_max),
        "",
        "",
        "< 20 MiB",
        verdict(idle_max < 20 << 20, || mib(idle_max - (20 << 20))),
    );
    ctx.report.row(
        "7",
        "footprint: release binary size",
        mib(size),
        "",
        "",
        "",
        "",
        "",
    );
}
