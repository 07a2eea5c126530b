//! The benchmark of azure-sessions-lsp: time from "run" to output, side by side with what users
//! would otherwise pick, against loopback fakes of Azure. Prints one table and writes it to
//! `docs/benchmarks.md` (between the `bench:begin`/`bench:end` markers).
//!
//! Run it with `bash scripts/bench.sh` (builds the release binary and the LangChain venv first),
//! or `cargo bench --bench bench` once `target/release/azure-sessions-lsp` exists.
//!
//! Options (after `--`): `--quick` (fewer runs, for a smoke test), `--no-write` (print only),
//! `--only NAME[,NAME]` (overhead, peer, signin, cold, large, scale, footprint, local, tls,
//! latency, lro, mcp, rich).
//! Environment: `BENCH_BIN` (server binary), `BENCH_PYTHON` (python with
//! langchain-azure-dynamic-sessions; the peer row is skipped without it).
//!
//! Every loop is bounded in count and every wait in time; all traffic stays on 127.0.0.1.
//! Rows 10 and 11 put a delaying proxy (`proxy.rs`) between client and pool: 20 ms a round trip.

mod cold_start;
mod fake_pool;
mod footprint;
mod harness;
mod large_output;
mod latency;
mod local_pool;
mod lro;
mod lsp;
mod mcp;
mod overhead;
mod proxy;
mod report;
mod rich_result;
mod scale;
mod signin;
mod tls;
mod tls_pool;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use report::Report;

/// No single wait of the benchmark lasts longer than this.
pub const WAIT: Duration = Duration::from_secs(60);
pub const API_VERSION: &str = "2025-10-02-preview";

pub struct Ctx {
    pub bin: PathBuf,
    pub python: Option<PathBuf>,
    pub root: PathBuf,
    pub pools: tokio::runtime::Runtime,
    pub quick: bool,
    pub report: Report,
    /// p50s of rows 1 and 2 (plain HTTP), to say what TLS adds in rows 9.
    pub plain: PlainP50,
}

#[derive(Default)]
pub struct PlainP50 {
    pub editor: Option<Duration>,
    pub langchain: Option<Duration>,
}

impl Ctx {
    pub fn n(&self, full: usize, quick: usize) -> usize {
        if self.quick { quick } else { full }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let quick = args.iter().any(|a| a == "--quick");
    let write = !args.iter().any(|a| a == "--no-write");
    let only: Option<Vec<String>> = args
        .iter()
        .position(|a| a == "--only")
        .and_then(|i| args.get(i + 1))
        .map(|s| s.split(',').map(str::to_owned).collect());
    let wants = |name: &str| only.as_ref().is_none_or(|o| o.iter().any(|x| x == name));

    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let bin = std::env::var_os("BENCH_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target/release/azure-sessions-lsp"));
    assert!(
        bin.exists(),
        "{} is missing: run `cargo build --release` (scripts/bench.sh does)",
        bin.display()
    );
    let python = std::env::var_os("BENCH_PYTHON").map(PathBuf::from);
    // The fake pools get a thread of their own; the driver (editor side) another.
    let pools = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("fake-pool")
        .enable_all()
        .build()
        .expect("pool runtime");
    let driver = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("driver runtime");
    let mut ctx = Ctx {
        bin,
        python,
        root: root.clone(),
        pools,
        quick,
        report: Report::default(),
        plain: PlainP50::default(),
    };
    let load_before = report::load_average();
    let started = Instant::now();
    driver.block_on(async {
        let step = |name: &str| eprintln!("== {name} ({:.0} s)", started.elapsed().as_secs_f64());
        if wants("overhead") || wants("peer") {
            step("1/2 overhead per run and LangChain peer");
            overhead::overhead_and_peer(&mut ctx, wants("peer"), wants("overhead")).await;
        }
        if wants("signin") {
            step("3 sign-in");
            signin::signin(&mut ctx).await;
        }
        if wants("cold") {
            step("4 cold start");
            cold_start::cold_start(&mut ctx).await;
        }
        if wants("large") {
            step("5 large output");
            large_output::large_output(&mut ctx).await;
        }
        if wants("scale") {
            step("6 scale");
            scale::scale(&mut ctx).await;
        }
        if wants("footprint") {
            step("7 footprint");
            footprint::footprint(&mut ctx).await;
        }
        if wants("local") {
            step("8 local pool");
            local_pool::local_pool(&mut ctx).await;
        }
        if wants("tls") {
            step("9 over TLS: overhead per run and LangChain peer");
            tls::overhead_tls(&mut ctx).await;
        }
        if wants("latency") {
            step("10 a 20 ms round trip: warm runs of the project, reqwest and LangChain");
            latency::latency(&mut ctx).await;
        }
        if wants("lro") {
            step("11 long-running operations polled through a 20 ms round trip");
            lro::long_running(&mut ctx).await;
        }
        if wants("mcp") {
            step("12 an agent's run_code through mcp and the editor's server");
            mcp::mcp_overhead(&mut ctx).await;
        }
        if wants("rich") {
            step("13 a 1 MiB PNG result against a text result");
            rich_result::rich_result(&mut ctx).await;
        }
    });
    let elapsed = started.elapsed();
    let mut generated = format!(
        "Run: {} on {}; benchmark took {:.0} s{}; load average {load_before} before, {} after (the machine is shared with other builds). Times are from the editor side (request sent → answer parsed).\n\n",
        report::today(),
        report::machine(),
        elapsed.as_secs_f64(),
        if quick { " (--quick: fewer runs)" } else { "" },
        report::load_average(),
    );
    generated.push_str(&ctx.report.table());
    if !ctx.report.notes.is_empty() {
        generated.push('\n');
        for note in &ctx.report.notes {
            generated.push_str(&format!("- {note}\n"));
        }
    }
    println!("\n{generated}");
    if write && only.is_none() {
        let path = root.join("docs/benchmarks.md");
        report::write_doc(&path, &generated);
        eprintln!("wrote {}", path.display());
    }
}
