//! The output document of a session: one entry per run, newest last, kept whole (diagnostics
//! and hovers shorten; the transcript never does).

use std::fmt::Write;
use std::path::Path;

use serde_json::Value;

use crate::sessions::piston::Stage;

/// One run, borrowed from the run's outcome: output is copied once, into the transcript.
#[derive(Debug, Clone, Copy)]
pub struct Entry<'a> {
    pub number: u64,
    pub started_at: &'a str,
    /// Who asked for the run when it was not the editor's user: `Some("agent")` for a run from
    /// `azure-sessions-lsp mcp`.
    pub by: Option<&'a str>,
    /// The endpoint's host, or "local pool".
    pub pool: &'a str,
    pub file: &'a str,
    /// "lines 3-9", "cell at lines 2-4", "file".
    pub what: &'a str,
    pub status: &'a str,
    pub time_ms: Option<u64>,
    pub stdout: &'a str,
    pub stderr: &'a str,
    pub result: &'a Value,
    /// Where an image result was saved.
    pub image_path: Option<&'a Path>,
    /// Notes of the client, e.g. that the session was recycled.
    pub notes: &'a [String],
    /// The compile stage of a compiled language (custom containers with Piston).
    pub compile: Option<&'a Stage>,
    /// The run's displays, described (`image/png saved to …`).
    pub displays: &'a [String],
}

#[derive(Debug, Default)]
pub struct Transcript {
    header: String,
    text: String,
    runs: u64,
}

/// Entries beyond this size are still whole, but the oldest are dropped once the whole
/// transcript passes it (memory stays bounded over a long day).
const MAX_TRANSCRIPT_BYTES: usize = 64 << 20;

impl Transcript {
    pub fn new(header: String) -> Self {
        Transcript {
            header,
            text: String::new(),
            runs: 0,
        }
    }

    pub fn runs(&self) -> u64 {
        self.runs
    }

    pub fn next_number(&self) -> u64 {
        self.runs + 1
    }

    pub fn text(&self) -> String {
        let mut out = self.header.clone();
        if self.runs == 0 {
            out.push_str("\nNo runs yet.\n");
        }
        out.push_str(&self.text);
        out
    }

    /// A line of its own (a reset, a recycled session).
    pub fn note(&mut self, note: &str) {
        let _ = writeln!(self.text, "\n!! {note}");
    }

    pub fn push(&mut self, entry: &Entry<'_>) {
        self.runs = self.runs.max(entry.number);
        let t = &mut self.text;
        let time = entry
            .time_ms
            .map(|ms| format!(" in {}", format_duration_ms(ms)))
            .unwrap_or_default();
        let by = entry.by.map(|by| format!("{by} · ")).unwrap_or_default();
        let what = format!("{} {}", entry.file, entry.what);
        let _ = writeln!(
            t,
            "\n── run {} · {} · {by}{} · {} · {}{} ──",
            entry.number,
            entry.started_at,
            what.trim(),
            entry.pool,
            entry.status,
            time
        );
        for note in entry.notes {
            let _ = writeln!(t, "!! {note}");
        }
        if let Some(compile) = entry.compile {
            write_compile_stage(t, compile);
        }
        if !entry.stdout.is_empty() {
            t.push_str(entry.stdout);
            if !entry.stdout.ends_with('\n') {
                t.push('\n');
            }
        }
        if !entry.stderr.is_empty() {
            let _ = writeln!(t, "[stderr]");
            t.push_str(&crate::traceback::strip_ansi(entry.stderr));
            if !entry.stderr.ends_with('\n') {
                t.push('\n');
            }
        }
        match (entry.result, entry.image_path) {
            (_, Some(path)) => {
                let _ = writeln!(t, "[result] image (PNG) saved to {}", path.display());
            }
            (Value::Null, None) => {}
            (Value::String(s), None) => {
                let _ = writeln!(t, "[result] {s}");
            }
            (other, None) => {
                let _ = writeln!(t, "[result] {other}");
            }
        }
        for display in entry.displays {
            let _ = writeln!(t, "[display] {display}");
        }
        if entry.stdout.is_empty()
            && entry.stderr.is_empty()
            && entry.result.is_null()
            && entry.displays.is_empty()
        {
            let _ = writeln!(t, "(no output)");
        }
        if self.text.len() > MAX_TRANSCRIPT_BYTES {
            let cut = self.text.len() - MAX_TRANSCRIPT_BYTES / 2;
            let cut = (cut..self.text.len())
                .find(|&i| self.text.is_char_boundary(i))
                .unwrap_or(self.text.len());
            self.text = format!(
                "\n[earlier runs dropped to bound memory]\n{}",
                &self.text[cut..]
            );
        }
    }
}

/// The compile stage's header: ok (with the compiler's warnings), or failed, in which case the
/// entry's stderr is the compiler's and the run stage never ran.
fn write_compile_stage(t: &mut String, compile: &Stage) {
    if compile.succeeded() {
        let _ = writeln!(t, "[compile] ok");
        let warnings = format!("{}{}", compile.stdout, compile.stderr);
        if !warnings.trim().is_empty() {
            t.push_str(&crate::traceback::strip_ansi(&warnings));
            if !warnings.ends_with('\n') {
                t.push('\n');
            }
        }
        let _ = writeln!(t, "[run]");
    } else {
        let how = match (compile.code, &compile.signal) {
            (_, Some(signal)) => format!("signal {signal}"),
            (Some(code), None) => format!("exit code {code}"),
            (None, None) => "no exit code".to_owned(),
        };
        let _ = writeln!(t, "[compile] failed ({how}); the run stage was skipped");
    }
}

/// `0.84 s`, `12 ms`, `2 min 5 s`.
pub fn format_duration_ms(ms: u64) -> String {
    if ms == 0 {
        "<1 ms".to_owned()
    } else if ms < 1000 {
        format!("{ms} ms")
    } else if ms < 60_000 {
        format!("{:.2} s", ms as f64 / 1000.0)
    } else {
        format!("{} min {} s", ms / 60_000, (ms % 60_000) / 1000)
    }
}

/// `YYYY-MM-DD HH:MM:SS UTC`, for entry headers.
pub fn now_string() -> String {
    let now = time::OffsetDateTime::now_utc();
    let format =
        time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second] UTC");
    now.format(&format).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(n: u64, result: &Value) -> Entry<'_> {
        Entry {
            number: n,
            started_at: "2026-11-27 10:00:00 UTC",
            by: None,
            pool: "local pool",
            file: "main.py",
            what: "lines 1-2",
            status: "Succeeded",
            time_ms: Some(840),
            stdout: "hello\n",
            stderr: "",
            result,
            image_path: None,
            notes: &[],
            compile: None,
            displays: &[],
        }
    }

    #[test]
    fn entries_name_pool_file_lines_status_and_time() {
        let mut t = Transcript::new("Azure session azs-1\n".into());
        assert!(t.text().contains("No runs yet"));
        let result = serde_json::json!(42);
        t.push(&entry(1, &result));
        let text = t.text();
        assert!(text.contains("run 1"), "{text}");
        assert!(
            text.contains("main.py lines 1-2 · local pool · Succeeded in 840 ms"),
            "{text}"
        );
        assert!(text.contains("hello\n[result] 42"), "{text}");
        assert_eq!(t.runs(), 1);
        t.push(&Entry {
            by: Some("agent"),
            file: "",
            what: "code",
            ..entry(2, &result)
        });
        assert!(
            t.text().contains(
                "── run 2 · 2026-11-27 10:00:00 UTC · agent · code · local pool · Succeeded"
            ),
            "{}",
            t.text()
        );
    }

    #[test]
    fn both_stages_of_a_compiled_language_are_shown() {
        let result = Value::Null;
        let ok = Stage {
            stderr: "main.c:2:5: warning: unused variable 'x'\n".into(),
            code: Some(0),
            ..Stage::default()
        };
        let mut t = Transcript::new(String::new());
        t.push(&Entry {
            compile: Some(&ok),
            ..entry(1, &result)
        });
        let text = t.text();
        assert!(
            text.contains("[compile] ok\nmain.c:2:5: warning: unused variable 'x'\n[run]\nhello\n"),
            "{text}"
        );
        let failed = Stage {
            code: Some(1),
            ..Stage::default()
        };
        t.push(&Entry {
            compile: Some(&failed),
            ..entry(2, &result)
        });
        assert!(
            t.text()
                .contains("[compile] failed (exit code 1); the run stage was skipped"),
            "{}",
            t.text()
        );
    }

    #[test]
    fn durations() {
        assert_eq!(format_duration_ms(12), "12 ms");
        assert_eq!(format_duration_ms(840), "840 ms");
        assert_eq!(format_duration_ms(1840), "1.84 s");
        assert_eq!(format_duration_ms(125_000), "2 min 5 s");
    }
}
