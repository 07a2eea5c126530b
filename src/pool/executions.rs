//! The execution routes: `/executions` (synchronous runs answered as the service's recordings
//! show, asynchronous ones as long-running operations, Shell pools' `shellCommand`), the legacy
//! `code/execute`, and the custom-container style `/{language}/execute` (answered by `piston`).

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use serde_json::{Value, json};

use super::Language;
use super::errors::{PoolError, shorten};
use super::routes::{AppState, MAX_JSON_BODY, Request, percent_encode};
use super::session::Outcome;

/// Azure's default for `outputStreamsMaxLength`.
const DEFAULT_OUTPUT_STREAMS_MAX_LENGTH: usize = 4096;

/// The fields of an execution request, flat or wrapped in `properties`.
struct ExecBody {
    /// The request carried `shellCommand` (a Shell pool's execution).
    shell: bool,
    code: String,
    /// As the request wrote it (`synchronous`, `Synchronous`, `Asynchronous`); echoed back.
    execution_type: String,
    stdin: Option<String>,
    timeout: Option<f64>,
    output_max: Option<f64>,
    /// `returnJupyterFormatExecutionResult` (2025-10-02-preview; the spec's examples spell it
    /// `returnJupyterFormat`).
    jupyter: bool,
}

fn number(value: Option<&Value>) -> Option<f64> {
    match value? {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn parse_body(body: Result<Bytes, BytesRejection>) -> Result<ExecBody, PoolError> {
    let bytes = body.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            PoolError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "RequestEntityTooLarge",
                format!("The request body exceeds {MAX_JSON_BODY} bytes."),
            )
        } else {
            PoolError::code_missing()
        }
    })?;
    let value: Value = serde_json::from_slice(&bytes).map_err(|_| PoolError::code_missing())?;
    let wrapped = value.get("properties").filter(|p| p.is_object());
    let field = |name: &str| {
        wrapped
            .and_then(|p| p.get(name))
            .or_else(|| value.get(name))
            .filter(|v| !v.is_null())
    };
    // A Shell pool's command comes as `shellCommand`.
    let shell = field("shellCommand").and_then(Value::as_str);
    let code = shell
        .or_else(|| field("code").and_then(Value::as_str))
        .ok_or_else(PoolError::code_missing)?;
    let input_type = field("codeInputType").and_then(Value::as_str).unwrap_or("");
    let code = if input_type.eq_ignore_ascii_case("InlineBase64") {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(code.trim())
            .ok()
            .and_then(|b| String::from_utf8(b).ok());
        decoded.ok_or_else(|| {
            PoolError::validation(
                "code is not valid base64-encoded UTF-8 (codeInputType InlineBase64)",
            )
        })?
    } else {
        code.to_string()
    };
    Ok(ExecBody {
        shell: shell.is_some(),
        code,
        execution_type: field("executionType")
            .and_then(Value::as_str)
            .unwrap_or("Synchronous")
            .to_owned(),
        stdin: field("stdin").and_then(Value::as_str).map(str::to_string),
        timeout: number(field("timeoutInSeconds")),
        output_max: number(field("outputStreamsMaxLength")),
        jupyter: ["returnJupyterFormatExecutionResult", "returnJupyterFormat"]
            .iter()
            .any(|name| field(name).and_then(Value::as_bool) == Some(true)),
    })
}

impl AppState {
    /// Runs a request's code in the identified session with the pool's limits.
    async fn run(
        &self,
        identifier: &str,
        language: Language,
        body: &ExecBody,
    ) -> Result<(Arc<super::session::Session>, Outcome), PoolError> {
        let session = self.registry.get_or_create(identifier)?;
        let max = self.settings.max_timeout;
        let limit = match body.timeout {
            Some(t) if t > 0.0 => Duration::try_from_secs_f64(t).map_or(max, |t| t.min(max)),
            _ => max,
        };
        let outcome = session
            .execute(language, body.code.clone(), body.stdin.clone(), limit)
            .await;
        Ok((session, outcome))
    }
}

fn truncate_chars(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((at, _)) => s[..at].to_string(),
        None => s.to_string(),
    }
}

fn millis(outcome: &Outcome) -> u64 {
    u64::try_from(outcome.elapsed.as_millis()).unwrap_or(u64::MAX)
}

/// `POST /executions` (2024-10-02-preview and later), answered as the service's recordings show:
/// a synchronous run gets 202 with its final result in the body and no `Operation-Location`; an
/// asynchronous one gets 202 `Running` with `Operation-Location` and `operation-id`, and its
/// record at `GET /executions/{id}` says `Running` until it ends.
pub async fn executions(
    State(app): State<AppState>,
    uri: Uri,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, PoolError> {
    let req = Request::new(&uri).with_api_version()?;
    let identifier = req.identifier()?.to_owned();
    let body = parse_body(body)?;
    let language = execution_language(&app, &body)?;
    let id = uuid::Uuid::new_v4().to_string();
    if body.execution_type.eq_ignore_ascii_case("asynchronous") {
        let session = app.registry.get_or_create(&identifier)?;
        session.record_execution(
            id.clone(),
            json!({
                "$id": "1", "id": id, "identifier": identifier,
                "executionType": body.execution_type, "status": "Running",
            }),
        );
        let (runner, run_id, run_identifier) = (app.clone(), id.clone(), identifier.clone());
        tokio::spawn(async move {
            if let Ok((session, outcome)) = runner.run(&run_identifier, language, &body).await {
                let (resource, _) = execution_resource(&run_id, &run_identifier, &body, &outcome);
                session.record_execution(run_id, resource);
            }
        });
        let location = format!(
            "/executions/{id}?api-version={}&identifier={}",
            percent_encode(req.api_version()),
            percent_encode(&identifier)
        );
        let operation_id = headers
            .get("operation-id")
            .filter(|v| !v.is_empty())
            .cloned()
            .unwrap_or_else(|| header_value(&id));
        let running = json!({"$id": "1", "id": id, "identifier": identifier, "executionType": "Asynchronous", "status": "Running"});
        let mut response = (StatusCode::ACCEPTED, axum::Json(running)).into_response();
        let h = response.headers_mut();
        h.insert("operation-id", operation_id);
        h.insert("Operation-Location", header_value(&location));
        return Ok(response);
    }
    let (session, outcome) = app.run(&identifier, language, &body).await?;
    let (resource, timing) = execution_resource(&id, &identifier, &body, &outcome);
    session.record_execution(id.clone(), resource.clone());
    let mut response = (StatusCode::ACCEPTED, axum::Json(resource)).into_response();
    let h = response.headers_mut();
    h.insert("x-ms-session-guid", header_value(&session.guid.to_string()));
    for (name, value) in timing {
        h.insert(name, header_value(&value));
    }
    Ok(response)
}

/// What runs an `/executions` request: a Shell pool takes `shellCommand` (and `stdin`) only;
/// Python and Node pools take `code` only, and refuse `stdin`, as Azure's do.
fn execution_language(app: &AppState, body: &ExecBody) -> Result<Language, PoolError> {
    match (app.settings.language, body.shell) {
        (Language::Shell, true) => Ok(Language::Shell),
        (Language::Shell, false) => Err(PoolError::validation(
            "A Shell session pool takes shellCommand, not code.",
        )),
        (_, true) => Err(PoolError::validation(
            "shellCommand is only available for a Shell typed session pool.",
        )),
        (language, false) => refuse_stdin(body).map(|()| language),
    }
}

/// Python and Node pools refuse `stdin`, as Azure's do: the spec makes it a Shell-pool field.
fn refuse_stdin(body: &ExecBody) -> Result<(), PoolError> {
    match &body.stdin {
        Some(_) => Err(PoolError::validation(
            "stdin is only available for a Shell typed session pool.",
        )),
        None => Ok(()),
    }
}

/// The execution resource of a finished run (`$id` markers, the request's casing echoed, `""`
/// for no value) and the timing headers Azure sends with it (decimal milliseconds).
/// The execution's result: with the Jupyter format asked for and rich outputs made, the list of
/// Jupyter outputs (figures as `display_data`, the last value as `execute_result`); else the
/// value, or, when there is none, the first figure as the image object Azure returns.
fn execution_result(outcome: &Outcome, jupyter: bool) -> Value {
    if jupyter && !outcome.outputs.is_empty() {
        return Value::Array(outcome.outputs.clone());
    }
    let empty = matches!(&outcome.result, Value::Null) || outcome.result == "";
    let figure = outcome
        .outputs
        .iter()
        .find_map(|o| o["data"]["image/png"].as_str());
    match figure {
        Some(png) if empty => json!({"type": "image", "format": "png", "base64_data": png}),
        _ => outcome.result.clone(),
    }
}

fn execution_resource(
    id: &str,
    identifier: &str,
    body: &ExecBody,
    outcome: &Outcome,
) -> (Value, Vec<(&'static str, String)>) {
    let max = match body.output_max {
        Some(n) if n.is_finite() && n > 0.0 => n as usize,
        _ => DEFAULT_OUTPUT_STREAMS_MAX_LENGTH,
    };
    // A Shell pool's status is the command's exit code (spec example `_ShellCommand.json`).
    let (status, result) = if body.shell {
        let code = outcome
            .result
            .as_i64()
            .map_or("-1".to_owned(), |c| c.to_string());
        (code, Value::String(String::new()))
    } else {
        let status = if outcome.ok { "Succeeded" } else { "Failed" };
        let result = match execution_result(outcome, body.jupyter) {
            Value::Null => Value::String(String::new()),
            other => other,
        };
        (status.to_owned(), result)
    };
    let resource = json!({
        "$id": "1",
        "id": id,
        "identifier": identifier,
        "executionType": body.execution_type,
        "status": status,
        "result": {
            "$id": "2",
            "stdout": truncate_chars(&outcome.stdout, max),
            "stderr": truncate_chars(&outcome.stderr, max),
            "executionResult": result,
            "executionTimeInMilliseconds": millis(outcome),
        },
    });
    let ms = outcome.elapsed.as_secs_f64() * 1000.0;
    let timing = vec![
        ("x-ms-allocation-retries", "0".to_owned()),
        ("x-ms-allocation-time", format!("{:.4}", 0.0)),
        ("x-ms-preparation-time", format!("{:.4}", 0.0)),
        (
            "x-ms-container-execution-duration",
            millis(outcome).to_string(),
        ),
        ("x-ms-execution-request-time", millis(outcome).to_string()),
        ("x-ms-overall-execution-time", format!("{ms:.4}")),
        ("x-ms-total-execution-service-time", format!("{ms:.4}")),
    ];
    (resource, timing)
}

fn header_value(s: &str) -> HeaderValue {
    HeaderValue::from_str(s).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// `GET /executions/{executionId}`: a recent execution of the session.
pub async fn execution_record(
    State(app): State<AppState>,
    UrlPath(execution_id): UrlPath<String>,
    uri: Uri,
) -> Result<Response, PoolError> {
    let req = Request::new(&uri).with_api_version()?;
    let identifier = req.identifier()?;
    app.registry
        .get(identifier)
        .and_then(|session| session.execution(&execution_id))
        .map(|resource| axum::Json(resource).into_response())
        .ok_or_else(|| {
            PoolError::not_found(
                "ExecutionNotFound",
                format!(
                    "No execution available for operation Id: {}",
                    shorten(&execution_id)
                ),
            )
        })
}

/// `POST /code/execute` (2024-02-02-preview): Azure's legacy shape, with `$id`, untruncated.
pub async fn legacy_execute(
    State(app): State<AppState>,
    uri: Uri,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, PoolError> {
    let req = Request::new(&uri).with_api_version()?;
    let identifier = req.identifier()?;
    let body = parse_body(body)?;
    refuse_stdin(&body)?;
    let (_, outcome) = app.run(identifier, app.settings.language, &body).await?;
    Ok(axum::Json(json!({
        "$id": "1",
        "properties": {
            "$id": "2",
            "status": if outcome.ok { "Success" } else { "Failure" },
            "stdout": outcome.stdout,
            "stderr": outcome.stderr,
            "result": execution_result(&outcome, false),
            "executionTimeInMilliseconds": millis(&outcome),
        }
    }))
    .into_response())
}

/// `POST /{language}/execute` (no api-version): a custom container whose adapter passes the
/// request to Piston and Piston's answer back. The request's own errors (no identifier, no
/// code) are the pool's, Azure-shaped; everything after is Piston's (see `piston`).
pub async fn custom_execute(
    State(app): State<AppState>,
    UrlPath(language): UrlPath<String>,
    uri: Uri,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, PoolError> {
    let req = Request::new(&uri);
    let identifier = req.identifier()?;
    let body = parse_body(body)?;
    super::piston::execute(
        &app,
        super::piston::JobRequest {
            language: &language,
            identifier,
            code: &body.code,
            stdin: body.stdin.as_deref(),
            timeout: body.timeout,
        },
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_flat_and_wrapped() {
        let flat = parse_body(Ok(Bytes::from_static(
            br#"{"code":"1","timeoutInSeconds":"5"}"#,
        )));
        assert_eq!(flat.ok().and_then(|b| b.timeout), Some(5.0));
        let wrapped = parse_body(Ok(Bytes::from_static(br#"{"properties":{"code":"2"}}"#)));
        assert_eq!(wrapped.ok().map(|b| b.code), Some("2".to_string()));
        let missing = parse_body(Ok(Bytes::from_static(br#"{"properties":{}}"#)));
        assert_eq!(
            missing.err().map(|e| e.code),
            Some("SessionPropertiesMissing")
        );
        let b64 = parse_body(Ok(Bytes::from_static(
            br#"{"codeInputType":"InlineBase64","code":"Nio3"}"#,
        )));
        assert_eq!(b64.ok().map(|b| b.code), Some("6*7".to_string()));
    }

    #[test]
    fn truncation_counts_characters() {
        assert_eq!(truncate_chars("héllo", 2), "hé");
        assert_eq!(truncate_chars("hi", 5), "hi");
    }
}
