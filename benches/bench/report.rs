//! Percentiles, the table of rows and notes, and the generated block of `docs/benchmarks.md`.

use std::path::Path;
use std::time::Duration;

// ───────────────────────────── statistics and table ─────────────────────────────

pub fn percentile(samples: &[Duration], p: f64) -> Duration {
    if samples.is_empty() {
        return Duration::ZERO;
    }
    let mut sorted = samples.to_vec();
    sorted.sort();
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// Repeated rounds of samples: percentiles are the median over rounds of each round's percentile.
pub struct Rounds(pub Vec<Vec<Duration>>);

impl Rounds {
    pub fn over_rounds(&self, p: f64) -> Duration {
        let mut each: Vec<Duration> = self.0.iter().map(|r| percentile(r, p)).collect();
        each.sort();
        each[(each.len() - 1) / 2]
    }

    pub fn p50(&self) -> Duration {
        self.over_rounds(50.0)
    }

    pub fn p99(&self) -> Duration {
        self.over_rounds(99.0)
    }
}

pub fn p50(samples: &[Duration]) -> Duration {
    percentile(samples, 50.0)
}

pub fn p99(samples: &[Duration]) -> Duration {
    percentile(samples, 99.0)
}

pub fn ms(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1000.0;
    if ms < 10.0 {
        format!("{ms:.3} ms")
    } else if ms < 1000.0 {
        format!("{ms:.1} ms")
    } else {
        format!("{:.3} s", d.as_secs_f64())
    }
}

pub fn signed_ms(a: Duration, b: Duration) -> String {
    let diff = a.as_secs_f64() * 1000.0 - b.as_secs_f64() * 1000.0;
    format!("{diff:+.3} ms")
}

pub fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}

pub fn ratio(a: Duration, b: Duration) -> String {
    if b.is_zero() {
        return "–".into();
    }
    format!("{:.2}×", a.as_secs_f64() / b.as_secs_f64())
}

pub struct Row {
    pub section: &'static str,
    pub what: String,
    pub p50: String,
    pub p99: String,
    pub reference: String,
    pub ratio: String,
    pub goal: String,
    pub verdict: String,
}

#[derive(Default)]
pub struct Report {
    pub rows: Vec<Row>,
    pub notes: Vec<String>,
}

impl Report {
    #[allow(clippy::too_many_arguments)]
    pub fn row(
        &mut self,
        section: &'static str,
        what: impl Into<String>,
        p50: impl Into<String>,
        p99: impl Into<String>,
        reference: impl Into<String>,
        ratio: impl Into<String>,
        goal: impl Into<String>,
        verdict: impl Into<String>,
    ) {
        let row = Row {
            section,
            what: what.into(),
            p50: p50.into(),
            p99: p99.into(),
            reference: reference.into(),
            ratio: ratio.into(),
            goal: goal.into(),
            verdict: verdict.into(),
        };
        eprintln!(
            "  [{}] {} | {} | {} | {} | {} | {} | {}",
            row.section,
            row.what,
            row.p50,
            row.p99,
            row.reference,
            row.ratio,
            row.goal,
            row.verdict
        );
        self.rows.push(row);
    }

    pub fn note(&mut self, note: impl Into<String>) {
        let note = note.into();
        eprintln!("  note: {note}");
        self.notes.push(note);
    }

    pub fn table(&self) -> String {
        let mut out = String::from(
            "| # | measurement | p50 / median | p99 / max | reference (p50 / p99) | ratio | goal | verdict |\n|---|---|---|---|---|---|---|---|\n",
        );
        for r in &self.rows {
            out.push_str(&format!(
                "| {} | {} | {} | {} | {} | {} | {} | {} |\n",
                r.section, r.what, r.p50, r.p99, r.reference, r.ratio, r.goal, r.verdict
            ));
        }
        out
    }
}

pub fn verdict(met: bool, missed_by: impl FnOnce() -> String) -> String {
    if met {
        "**met**".to_owned()
    } else {
        format!("**missed** by {}", missed_by())
    }
}

// ───────────────────────────── the document ─────────────────────────────

pub fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_owned())
        .unwrap_or_default();
    let memory = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find(|l| l.starts_with("MemTotal:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<u64>().ok())
        })
        .map_or(String::new(), |kb| {
            format!(", {:.0} GiB RAM", kb as f64 / 1048576.0)
        });
    format!("{cpu}, {cores} cores{memory}, Linux {kernel}")
}

/// The 1-minute load average (`/proc/loadavg`).
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(str::to_owned))
        .unwrap_or_else(|| "?".into())
}

pub fn today() -> String {
    let out = std::process::Command::new("date")
        .args(["-u", "+%Y-%m-%d %H:%M UTC"])
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned());
    out.unwrap_or_default()
}

pub const BEGIN: &str = "<!-- bench:begin (generated by scripts/bench.sh; do not edit by hand) -->";
pub const END: &str = "<!-- bench:end -->";

pub fn write_doc(path: &Path, generated: &str) {
    let existing = std::fs::read_to_string(path).unwrap_or_default();
    let block = format!("{BEGIN}\n{generated}{END}");
    let text = match (existing.find("<!-- bench:begin"), existing.find(END)) {
        (Some(b), Some(e)) if b < e => {
            format!("{}{}{}", &existing[..b], block, &existing[e + END.len()..])
        }
        _ => format!(
            "# Benchmarks\n\nHow to run: `bash scripts/bench.sh` (builds the release binary, installs LangChain's client in `.venv-bench`, runs every row below against loopback fakes, and rewrites the table here).\n\n{block}\n"
        ),
    };
    std::fs::write(path, text).expect("write docs/benchmarks.md");
}
