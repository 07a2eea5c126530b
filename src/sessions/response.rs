//! Every execution response shape seen in the wild, read into one [`Execution`].
//!
//! - legacy `code/execute`: `{"$id","properties":{"$id","status":"Success","stdout","stderr","result"|"executionResult","executionTimeInMilliseconds"}}`
//! - `executions`: `{"id","status":"Succeeded","result":{"stdout","stderr","executionResult","executionTimeInMilliseconds"}}`
//! - shell pools: `status` is the exit code as a string (`"0"`)
//! - custom adapters: flat `{"stdout","stderr","result",…}`, or Piston's answer passed through
//!   (`{"compile"?,"run"}`, read in [`super::piston`])

use serde_json::{Map, Value};

/// Whether the code ran to completion without an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExecutionStatus {
    Succeeded,
    Failed,
}

impl ExecutionStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ExecutionStatus::Succeeded => "Succeeded",
            ExecutionStatus::Failed => "Failed",
        }
    }
}

/// One finished execution, whatever API produced it.
#[derive(Debug, Clone, PartialEq)]
pub struct Execution {
    /// The execution's id (`executions` API), used to poll a long-running one.
    pub id: Option<String>,
    /// The `x-ms-session-guid` answer header: the container behind the session.
    pub session_guid: Option<String>,
    pub status: ExecutionStatus,
    /// The status exactly as the pool wrote it (`Success`, `Succeeded`, `0`, `Failed`, …).
    pub raw_status: String,
    pub stdout: String,
    pub stderr: String,
    /// The value of the last expression: any JSON, `null` when there is none.
    /// Images arrive as `{"type":"image","format":"png","base64_data":…}`.
    pub result: Value,
    pub execution_time_ms: Option<u64>,
    /// The compile stage of a Piston-shaped answer (a compiled language).
    pub compile: Option<super::piston::Stage>,
    /// What the pool said about how the run ended (a time or output limit, a signal).
    pub notes: Vec<String>,
    /// Rich results (images, HTML, Markdown, JSON) read out of the result.
    pub displays: Vec<super::displays::Display>,
}

/// Maps a pool's status word to success or failure: `Success`, `Succeeded` and the
/// exit code `0` mean success; everything else is a failure.
pub fn map_status(raw: &str) -> ExecutionStatus {
    let raw = raw.trim();
    if raw.eq_ignore_ascii_case("success") || raw.eq_ignore_ascii_case("succeeded") || raw == "0" {
        ExecutionStatus::Succeeded
    } else {
        ExecutionStatus::Failed
    }
}

/// `Running` and `NotStarted` (a long-running execution) are not final: the client polls.
pub fn is_pending(raw_status: &str) -> bool {
    let raw = raw_status.trim();
    raw.eq_ignore_ascii_case("running") || raw.eq_ignore_ascii_case("notstarted")
}

/// Reads an execution from a response body.
pub fn parse_execution(body: &[u8]) -> Result<Execution, String> {
    execution_from_value(parse_json(body)?)
}

/// The body as JSON, or an error that shows how it starts.
pub fn parse_json(body: &[u8]) -> Result<Value, String> {
    serde_json::from_slice(body).map_err(|e| {
        format!(
            "expected JSON ({e}); the body starts with {:?}",
            super::error::snippet(&body[..body.len().min(120)])
        )
    })
}

/// A custom container may answer a failed run with an error status and the run in the body
/// (Microsoft's sample: 408 `{"properties":{"status":"Failed","stderr":"Execution timed out"}}`
/// on a timeout, 500 with the exception): that is the run's result, a failure of the code, not
/// a failure to reach it. Only a body that says Failed and carries output counts.
pub fn failed_run_in_error_answer(body: &[u8]) -> Option<Execution> {
    let value: Value = serde_json::from_slice(body).ok()?;
    let props = value.get("properties").unwrap_or(&value);
    let says_failed = props
        .get("status")
        .and_then(number_or_string)
        .is_some_and(|s| map_status(&s) == ExecutionStatus::Failed);
    let has_output = ["stdout", "stderr"].iter().any(|k| {
        props
            .get(*k)
            .and_then(Value::as_str)
            .is_some_and(|s| !s.is_empty())
    });
    if !(says_failed && has_output) {
        return None;
    }
    execution_from_value(value).ok()
}

/// Reads an execution out of a parsed body. Output strings are moved, not copied: a large
/// output exists once in memory.
pub fn execution_from_value(value: Value) -> Result<Execution, String> {
    let mut top = match value {
        Value::Object(map) => map,
        other => return Err(format!("expected a JSON object, got {}", kind_of(&other))),
    };
    let id = top.get("id").and_then(Value::as_str).map(str::to_owned);
    // Legacy responses wrap everything in `properties`.
    let mut props = match top.remove("properties") {
        Some(Value::Object(inner)) => inner,
        Some(other) => {
            top.insert("properties".to_owned(), other);
            top
        }
        None => top,
    };

    // Piston's answer passed through: `{"compile"?,"run"}`.
    if super::piston::is_piston(&props) {
        return Ok(super::piston::execution(&props, id));
    }

    let raw_status = props
        .get("status")
        .and_then(number_or_string)
        .or_else(|| exit_code(&props))
        .unwrap_or_else(|| {
            // A custom adapter that answered 200 without any status ran the code.
            "Succeeded".to_owned()
        });
    // The spec's `error` is an ErrorResponse (`{"error":{"code","message"}}`) one level deeper
    // than some pools write it: read both.
    let error_message = props.get("error").and_then(|e| {
        let inner = e.get("error").filter(|i| i.is_object()).unwrap_or(e);
        let message = inner.get("message").and_then(Value::as_str)?;
        Some(match inner.get("code").and_then(Value::as_str) {
            Some(code) if !message.contains(code) => format!("{code}: {message}"),
            _ => message.to_owned(),
        })
    });
    let outer_time = props.get("executionTimeInMilliseconds").and_then(as_millis);

    // The executions API nests the output in a `result` object; older shapes keep it flat.
    let (mut out, result) = match props.remove("result") {
        Some(Value::Object(mut inner)) if is_output_object(&inner) => {
            let result = inner.remove("executionResult");
            (inner, result)
        }
        flat => {
            let result = flat.or_else(|| props.remove("executionResult"));
            (props, result)
        }
    };

    let mut stderr = take_text(&mut out, "stderr");
    if stderr.is_empty()
        && let Some(message) = error_message
    {
        // `error` may be set on a 200 in the spec; live pools put the text in stderr.
        stderr = message;
    }
    let canceled = ["canceled", "cancelled"]
        .iter()
        .any(|c| raw_status.trim().eq_ignore_ascii_case(c));
    if stderr.is_empty() && canceled {
        stderr = "The pool cancelled the execution (status Canceled).".to_owned();
    }

    let mut result = normalise_result(result);
    let displays = super::displays::take_displays(&mut result);
    Ok(Execution {
        id,
        session_guid: None,
        status: map_status(&raw_status),
        raw_status,
        result: without_echo(result, &out, &stderr),
        displays,
        stdout: take_text(&mut out, "stdout"),
        stderr,
        execution_time_ms: out
            .get("executionTimeInMilliseconds")
            .and_then(as_millis)
            .or(outer_time),
        compile: None,
        notes: Vec::new(),
    })
}

/// Moves a text field out of an object (a string as is; lines joined; anything else as JSON).
fn take_text(map: &mut Map<String, Value>, key: &str) -> String {
    match map.remove(key) {
        Some(Value::String(s)) => s,
        other => text(other.as_ref()),
    }
}

fn is_output_object(map: &Map<String, Value>) -> bool {
    [
        "stdout",
        "stderr",
        "executionResult",
        "executionTimeInMilliseconds",
    ]
    .iter()
    .any(|k| map.contains_key(*k))
}

fn exit_code(props: &Map<String, Value>) -> Option<String> {
    ["exitCode", "exit_code", "returncode"]
        .iter()
        .find_map(|k| props.get(*k).and_then(number_or_string))
}

/// Microsoft's custom-container sample repeats stdout (or stderr on failure) as
/// `executionResult`: a result that only repeats a stream is not a value, and is not shown twice.
fn without_echo(result: Value, out: &Map<String, Value>, stderr: &str) -> Value {
    let repeats = match &result {
        Value::String(s) if !s.trim().is_empty() => {
            let stdout = out.get("stdout").and_then(Value::as_str).unwrap_or("");
            s.trim_end() == stdout.trim_end() || s.trim_end() == stderr.trim_end()
        }
        _ => false,
    };
    if repeats { Value::Null } else { result }
}

/// Azure writes `""` for "no value"; an absent result is the same thing.
fn normalise_result(result: Option<Value>) -> Value {
    match result {
        None => Value::Null,
        Some(Value::String(s)) if s.is_empty() => Value::Null,
        Some(v) => v,
    }
}

fn text(value: Option<&Value>) -> String {
    match value {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(lines)) => lines
            .iter()
            .map(|l| {
                l.as_str()
                    .map(str::to_owned)
                    .unwrap_or_else(|| l.to_string())
            })
            .collect(),
        Some(other) => other.to_string(),
    }
}

fn number_or_string(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn as_millis(value: &Value) -> Option<u64> {
    match value {
        Value::Number(n) => n.as_u64().or_else(|| {
            n.as_f64()
                .filter(|f| f.is_finite() && *f >= 0.0)
                .map(|f| f as u64)
        }),
        Value::String(s) => s
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|f| f.is_finite() && *f >= 0.0)
            .map(|f| f as u64),
        _ => None,
    }
}

fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A file in the session, whatever API listed it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RemoteFile {
    pub name: String,
    pub size: Option<u64>,
    #[serde(rename = "lastModified")]
    pub last_modified: Option<String>,
}

/// Reads a file list: `{"value":[…]}` (new or legacy items), `{"$values":[…]}` or a bare array.
pub fn parse_file_list(body: &[u8]) -> Result<Vec<RemoteFile>, String> {
    let value: Value =
        serde_json::from_slice(body).map_err(|e| format!("expected a JSON file list ({e})"))?;
    let items = match &value {
        Value::Array(items) => items,
        Value::Object(map) => match map.get("value").or_else(|| map.get("$values")) {
            Some(Value::Array(items)) => items,
            _ => return Err("expected a `value` array in the file list".to_owned()),
        },
        other => return Err(format!("expected a file list, got {}", kind_of(other))),
    };
    Ok(items
        .iter()
        .filter(|item| !is_directory(item))
        .filter_map(parse_file)
        .collect())
}

/// One page of a file list and its `nextLink` (the spec pages lists; the recordings show none).
pub fn parse_file_page(body: &[u8]) -> Result<(Vec<RemoteFile>, Option<String>), String> {
    let files = parse_file_list(body)?;
    let next = serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|v| v.get("nextLink").and_then(Value::as_str).map(str::to_owned))
        .filter(|link| !link.trim().is_empty());
    Ok((files, next))
}

/// Reads one uploaded file's description: a single object (new API) or a one-item list (legacy).
pub fn parse_uploaded_file(body: &[u8]) -> Result<RemoteFile, String> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| format!("expected a JSON file description ({e})"))?;
    if let Some(file) = parse_file(&value) {
        return Ok(file);
    }
    parse_file_list(body)?
        .into_iter()
        .next()
        .ok_or_else(|| "the pool did not describe the uploaded file".to_owned())
}

fn is_directory(item: &Value) -> bool {
    item.get("type")
        .and_then(Value::as_str)
        .is_some_and(|t| t.eq_ignore_ascii_case("directory"))
}

fn parse_file(item: &Value) -> Option<RemoteFile> {
    let item = match item.get("properties") {
        Some(inner @ Value::Object(_)) => inner,
        _ => item,
    };
    let name = item
        .get("name")
        .or_else(|| item.get("filename"))
        .and_then(Value::as_str)?;
    let size = item
        .get("sizeInBytes")
        .or_else(|| item.get("size"))
        .and_then(Value::as_u64);
    let last_modified = item
        .get("lastModifiedAt")
        .or_else(|| item.get("lastModifiedTime"))
        .or_else(|| item.get("last_modified_time"))
        .and_then(Value::as_str)
        .map(str::to_owned);
    Some(RemoteFile {
        name: name.rsplit('/').next().unwrap_or(name).to_owned(),
        size,
        last_modified,
    })
}

/// What `GET /session` (or `.management/getSession`) says about a session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionDescription {
    pub created_at: Option<String>,
    pub etag: Option<String>,
}

pub fn parse_session(body: &[u8]) -> Result<SessionDescription, String> {
    let value: Value =
        serde_json::from_slice(body).map_err(|e| format!("expected a JSON session ({e})"))?;
    let value = value.get("properties").unwrap_or(&value);
    Ok(SessionDescription {
        created_at: value
            .get("createdAt")
            .and_then(Value::as_str)
            .map(str::to_owned),
        etag: value.get("etag").and_then(Value::as_str).map(str::to_owned),
    })
}

#[cfg(test)]
mod tests;
