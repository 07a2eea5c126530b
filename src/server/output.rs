//! What a run's output becomes in the editor: head and tail of huge streams (the rest saved to
//! a file), saved images, the diagnostics, the hover text.

use std::path::Path;

use serde_json::Value;
use tower_lsp_server::ls_types::*;

use super::marks::{MarkDiagnostic, Severity};
use super::protocol::{DIAGNOSTIC_SOURCE, DisplayOut, RunError};
use crate::code::Snippet;
use crate::sessions::Execution;
use crate::settings::DiagnosticsLevel;
use crate::traceback;

/// Diagnostics and hovers show this much output; the transcript keeps all of it.
const DIAGNOSTIC_OUTPUT_CHARS: usize = 400;
const HOVER_OUTPUT_CHARS: usize = 20_000;

/// Outputs longer than this (per stream) are saved whole to a file and shown as head and tail:
/// a multi-megabyte string would cost several copies on its way through LSP, and no editor
/// buffer shows it usefully. Azure itself caps streams at the 1 Mi characters we ask for.
const SPILL_OVER_BYTES: usize = 2 << 20;
const SPILL_KEEP_BYTES: usize = 1 << 20;

pub(super) async fn spill(text: String, dir: &Path, stream: &str) -> String {
    if text.len() <= SPILL_OVER_BYTES {
        return text;
    }
    let head_end = floor_boundary(&text, SPILL_KEEP_BYTES);
    let tail_start = ceil_boundary(&text, text.len() - SPILL_KEEP_BYTES);
    let omitted = tail_start - head_end;
    let total = text.len();
    let (dir, extension) = (dir.to_owned(), format!("{stream}.txt"));
    let (text, saved) = tokio::task::spawn_blocking(move || {
        let saved = crate::private::write_new(&dir, "output", &extension, text.as_bytes());
        (text, saved)
    })
    .await
    .unwrap_or_else(|e| (String::new(), Err(e.to_string())));
    if text.is_empty() {
        return format!("[{total} bytes of {stream} could not be kept]");
    }
    let note = match saved {
        Ok(path) => format!(
            "\n[… {omitted} bytes of {stream} not shown here; all {total} bytes are in {}]\n",
            path.display()
        ),
        Err(error) => format!(
            "\n[… {omitted} bytes of {stream} not shown here and not saved ({error}); the output is cut]\n"
        ),
    };
    let mut shown = String::with_capacity(2 * SPILL_KEEP_BYTES + note.len());
    shown.push_str(&text[..head_end]);
    shown.push_str(&note);
    shown.push_str(&text[tail_start..]);
    shown
}

fn floor_boundary(text: &str, mut at: usize) -> usize {
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

fn ceil_boundary(text: &str, mut at: usize) -> usize {
    while !text.is_char_boundary(at) {
        at += 1;
    }
    at
}

fn shorten(text: &str, max: usize) -> String {
    let text = text.trim_end();
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let cut: String = text.chars().take(max).collect();
    format!("{cut}… (full output in the Azure session output)")
}

/// The inlay hint at the end of a run's last line: `→ value` (of the last expression, else the
/// kind of its first display) or `✗ Type: message`, one line of at most 80 characters.
pub(super) fn inline_value(
    execution: &Execution,
    error: Option<&RunError>,
    displays: &[DisplayOut],
) -> Option<String> {
    let text = match error {
        Some(e) if e.message.is_empty() => format!("✗ {}", e.kind),
        Some(e) => format!("✗ {}: {}", e.kind, e.message),
        None => {
            let value = result_text(&execution.result)
                .or_else(|| displays.first().map(|d| format!("[{}]", d.mime_type)))?;
            format!("→ {value}")
        }
    };
    let line = text.lines().map(str::trim).find(|l| !l.is_empty())?;
    const MAX: usize = 80;
    Some(if line.chars().count() > MAX {
        format!("{}…", line.chars().take(MAX - 1).collect::<String>())
    } else {
        line.to_owned()
    })
}

fn result_text(result: &Value) -> Option<String> {
    match result {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        Value::Object(map) if map.get("type").and_then(Value::as_str) == Some("image") => {
            Some("[image]".to_owned())
        }
        other => Some(other.to_string()),
    }
}

pub(super) fn diagnostics_for(
    level: DiagnosticsLevel,
    snippet: &Snippet,
    execution: &Execution,
    failure: Option<&traceback::Failure>,
    error: Option<&RunError>,
) -> Vec<MarkDiagnostic> {
    if level == DiagnosticsLevel::Off {
        return Vec::new();
    }
    match (failure, error) {
        (Some(failure), Some(error)) => {
            let line = error.line.unwrap_or(snippet.first_line);
            let related = failure
                .frames
                .iter()
                .filter_map(|f| Some((snippet.document_line(f.code_line?)?, f.description.clone())))
                .filter(|(l, _)| *l != line)
                .collect();
            let message = if error.message.is_empty() {
                error.kind.clone()
            } else {
                format!("{}: {}", error.kind, error.message)
            };
            let mut diagnostics = vec![MarkDiagnostic {
                line,
                severity: Severity::Error,
                code: Some(error.kind.clone()),
                message,
                related,
            }];
            // Every error of a compile, each on its line.
            diagnostics.extend(failure.others.iter().filter_map(|other| {
                Some(MarkDiagnostic {
                    line: snippet.document_line(other.code_line)?,
                    severity: Severity::Error,
                    code: Some(error.kind.clone()),
                    message: format!("{}: {}", error.kind, other.message),
                    related: Vec::new(),
                })
            }));
            diagnostics
        }
        _ if level == DiagnosticsLevel::All => {
            let mut shown = execution.stdout.trim_end().to_owned();
            if let Some(result) = result_text(&execution.result) {
                if !shown.is_empty() {
                    shown.push('\n');
                }
                shown.push_str(&format!("→ {result}"));
            }
            if shown.is_empty() {
                return Vec::new();
            }
            vec![MarkDiagnostic {
                line: snippet.last_line,
                severity: Severity::Information,
                code: None,
                message: shorten(&shown, DIAGNOSTIC_OUTPUT_CHARS),
                related: Vec::new(),
            }]
        }
        _ => Vec::new(),
    }
}

pub(super) fn hover_text(
    number: u64,
    lens: &str,
    execution: &Execution,
    image: Option<&Path>,
) -> String {
    let mut text = format!("**Azure session · run {number}** · {lens}\n");
    let fence = |body: &str| {
        format!(
            "```text\n{}\n```\n",
            shorten(&body.replace("```", "`\u{200b}``"), HOVER_OUTPUT_CHARS)
        )
    };
    if !execution.stdout.is_empty() {
        text.push_str(&fence(&execution.stdout));
    }
    if !execution.stderr.is_empty() {
        text.push_str("\n**stderr**\n");
        text.push_str(&fence(&traceback::strip_ansi(&execution.stderr)));
    }
    if let Some(path) = image {
        text.push_str(&format!(
            "\n**result**: image saved to `{}`\n",
            path.display()
        ));
    } else if let Some(result) = result_text(&execution.result) {
        text.push_str("\n**result**\n");
        text.push_str(&fence(&result));
    }
    text
}

pub(super) fn to_lsp_diagnostic(uri: &Uri, d: &MarkDiagnostic, line_end: u32) -> Diagnostic {
    let range = Range::new(Position::new(d.line, 0), Position::new(d.line, line_end));
    Diagnostic {
        range,
        severity: Some(match d.severity {
            Severity::Error => DiagnosticSeverity::ERROR,
            Severity::Information => DiagnosticSeverity::INFORMATION,
        }),
        code: d.code.clone().map(NumberOrString::String),
        source: Some(DIAGNOSTIC_SOURCE.to_owned()),
        message: d.message.clone(),
        related_information: (!d.related.is_empty()).then(|| {
            d.related
                .iter()
                .map(|(line, text)| DiagnosticRelatedInformation {
                    location: Location::new(
                        uri.clone(),
                        Range::new(Position::new(*line, 0), Position::new(*line, 0)),
                    ),
                    message: text.clone(),
                })
                .collect()
        }),
        ..Default::default()
    }
}
