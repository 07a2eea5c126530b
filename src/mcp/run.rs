//! `run_code`, `run_file` and `variables`: a run in the folder's session, its output as MCP
//! content (text for stdout, stderr, the result and the error with its line; images as image
//! content).

use base64::Engine;
use rmcp::ErrorData as McpError;
use rmcp::model::{CallToolResult, ContentBlock};
use serde_json::{Map, Value};

use super::editor::FilePart;
use super::{McpServer, invalid, string_arg};
use crate::code::{Pos, Target, extract};
use crate::sessions::displays::Content;
use crate::sessions::{ExecuteRequest, Execution, ExecutionStatus};
use crate::settings;

/// Runs code and returns the execution (an `Err` when it could not run).
async fn execute(server: &McpServer, code: &str, language: &str) -> Result<Execution, McpError> {
    let reached = server.pool(Some(language)).await?;
    let pool = &reached.pool;
    let identifier = server.identifier();
    let mut timeout = server.settings.timeout;
    if timeout > settings::AZURE_RUN_LIMIT
        && settings::is_code_interpreter_host(pool.target.endpoint().as_str())
    {
        timeout = settings::AZURE_RUN_LIMIT;
    }
    let request = ExecuteRequest {
        identifier: &identifier,
        code,
        language,
        stdin: None,
        timeout,
        cold_start_budget: server.settings.cold_start_timeout,
    };
    let quiet = |_notice: crate::sessions::RetryNotice| {};
    let execution = pool
        .http
        .execute(&pool.target, &pool.credentials, &request, &quiet)
        .await
        .map_err(|e| McpError::internal_error(e.to_string(), None))?;
    server
        .runs
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    Ok(execution)
}

/// The language to send: the argument (a code-interpreter pool's aliases normalised), else
/// `--language`, else the file's extension (with the `azureSessions.languages` overrides),
/// else python. Refused before any request when the pool cannot run it.
fn language(server: &McpServer, given: Option<String>, file: &str) -> Result<String, McpError> {
    use crate::languages;
    use crate::pool::Language;
    use crate::sessions::Api;
    let api = server.settings.api;
    let given = given
        .or_else(|| server.language.clone())
        .map(|g| g.trim().to_owned())
        .filter(|g| !g.is_empty());
    let (id, language) = match given {
        Some(given) => {
            let normalised = match (api, given.parse::<Language>()) {
                (Api::Custom, _) | (_, Err(_)) => given.clone(),
                (_, Ok(known)) => known.as_str().to_owned(),
            };
            (given, normalised)
        }
        None if file.is_empty() => ("python".to_owned(), "python".to_owned()),
        None => {
            let id = languages::language_id("", file).to_owned();
            let language = languages::pool_language(&id, &server.settings.languages);
            (id, language)
        }
    };
    languages::check_runnable(api, &id, &language).map_err(invalid)?;
    Ok(language)
}

/// The most text one block carries (as the editor's inline displays): an agent's context is
/// no place for megabytes of output.
const MAX_TEXT_BYTES: usize = 1 << 20;

/// A labelled text block, cut at [`MAX_TEXT_BYTES`] (on a character boundary) with a note.
pub(super) fn capped(label: &str, text: &str) -> ContentBlock {
    if text.len() <= MAX_TEXT_BYTES {
        return ContentBlock::text(format!("{label}:\n{text}"));
    }
    let mut end = MAX_TEXT_BYTES;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    ContentBlock::text(format!(
        "{label} (first {end} of {} bytes):\n{}\n[… cut]",
        text.len(),
        &text[..end]
    ))
}

/// The content of an execution; `line_of` maps a line of the code that ran to the line shown.
fn content(
    mut execution: Execution,
    code: &str,
    line_of: impl Fn(u32) -> Option<u32>,
) -> CallToolResult {
    let mut blocks = Vec::new();
    if !execution.stdout.is_empty() {
        blocks.push(capped("stdout", &execution.stdout));
    }
    if !execution.stderr.is_empty() {
        blocks.push(capped("stderr", &execution.stderr));
    }
    let displays = std::mem::take(&mut execution.displays);
    match &execution.result {
        Value::Null => {}
        Value::String(s) if !s.is_empty() => {
            blocks.push(ContentBlock::text(format!("result: {s}")))
        }
        Value::String(_) => {}
        other if other.get("type").and_then(Value::as_str) == Some("image") => {}
        other => blocks.push(ContentBlock::text(format!("result: {other}"))),
    }
    for display in displays {
        match display.content {
            Content::Bytes(bytes) => blocks.push(ContentBlock::image(
                base64::engine::general_purpose::STANDARD.encode(bytes),
                display.mime_type,
            )),
            Content::Text(text) => blocks.push(ContentBlock::text(format!(
                "{}:\n{text}",
                display.mime_type
            ))),
        }
    }
    for note in &execution.notes {
        blocks.push(ContentBlock::text(format!("note: {note}")));
    }
    if execution.status == ExecutionStatus::Failed {
        let failure = crate::traceback::parse(&execution.stderr, code);
        let line = failure.innermost_code_line().and_then(&line_of);
        let mut error = format!("error: {}", failure.kind);
        if !failure.message.is_empty() {
            error.push_str(&format!(": {}", failure.message));
        }
        if let Some(line) = line {
            error.push_str(&format!(" (line {line})"));
        }
        blocks.push(ContentBlock::text(error));
        return CallToolResult::error(blocks);
    }
    if blocks.is_empty() {
        blocks.push(ContentBlock::text("(no output)"));
    }
    CallToolResult::success(blocks)
}

pub async fn run_code(
    server: &McpServer,
    args: &Map<String, Value>,
) -> Result<CallToolResult, McpError> {
    let code = string_arg(args, "code", true)?.unwrap_or_default();
    if code.trim().is_empty() {
        return Err(invalid("`code` is empty"));
    }
    let given = string_arg(args, "language", false)?;
    if let Some(answer) = super::editor::run_code(server, &code, given.as_deref()).await {
        return answer;
    }
    let language = language(server, given, "")?;
    let execution = execute(server, &code, &language).await?;
    Ok(content(execution, &code, Some))
}

/// The largest file `run_file` runs (as the editor's commands).
const MAX_FILE_BYTES: u64 = 16 << 20;

fn line_arg(value: &Value, name: &str) -> Result<u32, McpError> {
    value
        .as_u64()
        .filter(|n| *n >= 1 && *n <= u32::MAX as u64)
        .map(|n| n as u32)
        .ok_or_else(|| invalid(format!("`{name}` must be a line number from 1")))
}

pub async fn run_file(
    server: &McpServer,
    args: &Map<String, Value>,
) -> Result<CallToolResult, McpError> {
    let path = string_arg(args, "path", true)?.unwrap_or_default();
    let local = super::files::inside_workspace(&server.workspace, &path, true)?;
    let meta = tokio::fs::metadata(&local)
        .await
        .map_err(|e| invalid(format!("cannot read {path}: {e}")))?;
    if !meta.is_file() {
        return Err(invalid(format!("{path} is not a file")));
    }
    if meta.len() > MAX_FILE_BYTES {
        return Err(invalid(format!("{path} is larger than 16 MB; not run")));
    }
    let part = match (args.get("cell"), args.get("range")) {
        (Some(_), Some(_)) => return Err(invalid("give `cell` or `range`, not both")),
        (Some(cell), None) => FilePart::Cell(line_arg(cell, "cell")?),
        (None, Some(range)) => {
            let start = line_arg(range.get("start").unwrap_or(&Value::Null), "range.start")?;
            let end = line_arg(range.get("end").unwrap_or(&Value::Null), "range.end")?;
            if end < start {
                return Err(invalid("`range.end` is before `range.start`"));
            }
            FilePart::Lines(start, end)
        }
        (None, None) => FilePart::File,
    };
    let target = match part {
        FilePart::File => Target::File,
        FilePart::Cell(line) => Target::Cell(line - 1),
        FilePart::Lines(start, end) => Target::Range(
            Pos {
                line: start - 1,
                character: 0,
            },
            Pos {
                line: end - 1,
                character: u32::MAX,
            },
        ),
    };
    if let Some(answer) = super::editor::run_file(server, &local, part).await {
        return answer;
    }
    let text = tokio::fs::read_to_string(&local)
        .await
        .map_err(|e| invalid(format!("cannot read {path}: {e}")))?;
    let snippet = extract(&text, target, &server.settings.cell_marker)
        .ok_or_else(|| invalid("nothing to run there (an empty file, cell or range)"))?;
    let language = language(server, None, &local.to_string_lossy())?;
    let execution = execute(server, &snippet.code, &language).await?;
    Ok(content(execution, &snippet.code, |n| {
        snippet.document_line(n).map(|l| l + 1)
    }))
}

pub async fn variables(
    server: &McpServer,
    args: &Map<String, Value>,
) -> Result<CallToolResult, McpError> {
    let language = language(server, string_arg(args, "language", false)?, "")?;
    let Some(code) = crate::server::variables_snippet(&language) else {
        return Err(invalid(format!(
            "variables are listed for python and javascript sessions, not {language}"
        )));
    };
    let execution = execute(server, code, &language).await?;
    match crate::server::parse_variables(&execution.stdout) {
        Some(items) => Ok(CallToolResult::success(vec![ContentBlock::text(
            serde_json::to_string_pretty(&items).unwrap_or_default(),
        )])),
        None => Ok(content(execution, code, |_| None)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn big_text_is_cut_on_a_character_boundary() {
        let text = "é".repeat(MAX_TEXT_BYTES);
        let block = serde_json::to_value(capped("stdout", &text)).unwrap();
        let shown = block["text"].as_str().unwrap();
        assert!(shown.starts_with("stdout (first "), "{}", &shown[..40]);
        assert!(shown.ends_with("[… cut]"));
        assert!(shown.len() < MAX_TEXT_BYTES + 100);
        let small = serde_json::to_value(capped("stderr", "oops")).unwrap();
        assert_eq!(small["text"], "stderr:\noops");
    }
}
