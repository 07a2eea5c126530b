//! The server's own wire surface: command names and arguments, `RunOutcome`, custom methods.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tower_lsp_server::jsonrpc;
use tower_lsp_server::ls_types::{Position, Range, Uri};

pub const RUN: &str = "azure-sessions.run";
pub const RUN_CELL: &str = "azure-sessions.runCell";
pub const RESET_SESSION: &str = "azure-sessions.resetSession";
pub const SESSION_INFO: &str = "azure-sessions.sessionInfo";
pub const UPLOAD_FILE: &str = "azure-sessions.uploadFile";
pub const LIST_FILES: &str = "azure-sessions.listFiles";
pub const DOWNLOAD_FILE: &str = "azure-sessions.downloadFile";
/// *Extension*: checks the pool of a document's (or the first folder's) settings; the report.
pub const DOCTOR: &str = "azure-sessions.doctor";
pub const VARIABLES: &str = "azure-sessions.variables";
pub const EXPORT_NOTEBOOK: &str = "azure-sessions.exportNotebook";

pub const COMMANDS: [&str; 10] = [
    RUN,
    RUN_CELL,
    RESET_SESSION,
    SESSION_INFO,
    UPLOAD_FILE,
    LIST_FILES,
    DOWNLOAD_FILE,
    DOCTOR,
    VARIABLES,
    EXPORT_NOTEBOOK,
];

/// The scheme of output documents (`azure-sessions://output/…`).
pub const OUTPUT_SCHEME: &str = "azure-sessions";
pub const DIAGNOSTIC_SOURCE: &str = "azure-sessions";

#[derive(Debug, Deserialize)]
pub struct RunArgs {
    pub uri: Uri,
    pub range: Option<Range>,
    pub stdin: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct RunCellArgs {
    pub uri: Uri,
    pub position: Position,
    #[serde(default)]
    pub stdin: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct SessionArgs {
    pub uri: Option<Uri>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UploadArgs {
    /// The local file to upload.
    pub uri: Uri,
    pub remote_name: Option<String>,
    /// The document (or folder) whose session receives the file, as for a run; without it, the
    /// default session. Never the uploaded file's own path.
    pub document_uri: Option<Uri>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExportArgs {
    pub target_uri: Uri,
    pub uri: Option<Uri>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DownloadArgs {
    pub remote_name: String,
    pub target_uri: Uri,
    pub uri: Option<Uri>,
}

/// Reads a command's single object argument; anything else is `InvalidParams` saying what was expected.
pub fn parse_args<T: DeserializeOwned>(
    command: &str,
    arguments: &[Value],
    expected: &str,
) -> jsonrpc::Result<T> {
    let argument = match arguments {
        [] => Value::Object(Default::default()),
        [one] => one.clone(),
        _ => {
            return Err(invalid_params(format!(
                "{command} takes one argument, an object {expected}; got {} arguments",
                arguments.len()
            )));
        }
    };
    serde_json::from_value(argument)
        .map_err(|e| invalid_params(format!("{command} expects {expected}: {e}")))
}

pub fn invalid_params(message: impl Into<String>) -> jsonrpc::Error {
    jsonrpc::Error {
        code: jsonrpc::ErrorCode::InvalidParams,
        message: message.into().into(),
        data: None,
    }
}

/// A run that could not execute (or could not be waited for): `RequestFailed` with the reason.
pub fn request_failed(message: impl Into<String>) -> jsonrpc::Error {
    jsonrpc::Error {
        code: jsonrpc::ErrorCode::ServerError(-32803),
        message: message.into().into(),
        data: None,
    }
}

pub fn request_cancelled(message: impl Into<String>) -> jsonrpc::Error {
    jsonrpc::Error {
        code: jsonrpc::ErrorCode::ServerError(-32800),
        message: message.into().into(),
        data: None,
    }
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct RunOutcome {
    pub status: &'static str,
    pub stdout: String,
    pub stderr: String,
    pub result: Value,
    pub execution_time_ms: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<RunError>,
    pub output_uri: String,
    pub displays: Vec<DisplayOut>,
}

/// A rich result of a run: binary data as a file URI, text inline.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct DisplayOut {
    pub mime_type: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uri: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// Where it was saved (for the transcript), not sent.
    #[serde(skip)]
    pub path: Option<std::path::PathBuf>,
}

impl RunOutcome {
    /// The outcome as JSON, moving the output rather than copying it (it can be megabytes).
    pub fn into_value(self) -> Value {
        let mut map = serde_json::Map::with_capacity(7);
        map.insert("status".to_owned(), Value::from(self.status));
        map.insert("stdout".to_owned(), Value::String(self.stdout));
        map.insert("stderr".to_owned(), Value::String(self.stderr));
        map.insert("result".to_owned(), self.result);
        map.insert(
            "executionTimeMs".to_owned(),
            self.execution_time_ms.map_or(Value::Null, Value::from),
        );
        if let Some(error) = self.error {
            map.insert(
                "error".to_owned(),
                serde_json::to_value(error).unwrap_or(Value::Null),
            );
        }
        map.insert("outputUri".to_owned(), Value::String(self.output_uri));
        map.insert(
            "displays".to_owned(),
            serde_json::to_value(self.displays).unwrap_or(Value::Array(Vec::new())),
        );
        Value::Object(map)
    }
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct RunError {
    #[serde(rename = "type")]
    pub kind: String,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
}

#[derive(Debug, Deserialize)]
pub struct OutputParams {
    pub uri: String,
}

#[derive(Debug, Serialize)]
pub struct OutputResult {
    pub text: String,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct UriParams {
    pub uri: String,
}

/// Sent after every run: the transcript at `uri` changed.
pub enum OutputChanged {}

impl tower_lsp_server::ls_types::notification::Notification for OutputChanged {
    type Params = UriParams;
    const METHOD: &'static str = "azure-sessions/outputChanged";
}

/// Sent after a run an agent asked for (through `azure-sessions-lsp mcp`): editors show it with
/// their own runs.
#[derive(Debug, Serialize, Deserialize)]
pub struct AgentRunParams {
    /// The document the run belongs to (the folder's session for code from the agent).
    pub uri: String,
    /// "code from the agent", "lines 3-9 of main.py (agent)".
    pub label: String,
    /// The `RunOutcome`, as the run command answers it.
    pub outcome: serde_json::Value,
}

pub enum AgentRun {}

impl tower_lsp_server::ls_types::notification::Notification for AgentRun {
    type Params = AgentRunParams;
    const METHOD: &'static str = "azure-sessions/agentRun";
}

/// The state of the session a document runs in, for status bars.
#[derive(Debug, Serialize, Deserialize)]
pub struct StatusParams {
    pub uri: String,
    /// running, waiting, succeeded, failed, error, idle
    pub state: String,
    pub message: String,
}

pub enum Status {}

impl tower_lsp_server::ls_types::notification::Notification for Status {
    type Params = StatusParams;
    const METHOD: &'static str = "azure-sessions/status";
}

/// Asks the editor for a token (VS Code's Microsoft account), when it offered one.
pub enum GetAccessToken {}

#[derive(Debug, Serialize, Deserialize)]
pub struct GetAccessTokenParams {
    pub scopes: Vec<String>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GetAccessTokenResult {
    pub token: String,
    /// Unix seconds.
    pub expires_on: i64,
}

impl tower_lsp_server::ls_types::request::Request for GetAccessToken {
    type Params = GetAccessTokenParams;
    type Result = GetAccessTokenResult;
    const METHOD: &'static str = "azure-sessions/getAccessToken";
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn missing_and_mistyped_arguments_are_invalid_params() {
        let error = parse_args::<RunArgs>(RUN, &[], "{uri, range?}").unwrap_err();
        assert_eq!(error.code, jsonrpc::ErrorCode::InvalidParams);
        assert!(
            error.message.contains("missing field `uri`"),
            "{}",
            error.message
        );
        let error = parse_args::<RunArgs>(RUN, &[json!({"uri": 3})], "{uri}").unwrap_err();
        assert_eq!(error.code, jsonrpc::ErrorCode::InvalidParams);
        let negative = json!({"uri": "file:///a.py", "range": {"start": {"line": -1, "character": 0}, "end": {"line": 0, "character": 0}}});
        assert!(parse_args::<RunArgs>(RUN, &[negative], "{uri}").is_err());
        assert!(
            parse_args::<RunArgs>(RUN, &[json!({"uri": "file:///a.py"}), json!(1)], "{uri}")
                .is_err()
        );
        let ok = parse_args::<RunArgs>(
            RUN,
            &[json!({"uri": "file:///a.py", "stdin": "x"})],
            "{uri}",
        )
        .unwrap();
        assert_eq!(ok.stdin.as_deref(), Some("x"));
    }

    #[test]
    fn outcome_shape() {
        let outcome = RunOutcome {
            status: "Failed",
            stdout: String::new(),
            stderr: "boom".into(),
            result: Value::Null,
            execution_time_ms: Some(3),
            error: Some(RunError {
                kind: "ZeroDivisionError".into(),
                message: "division by zero".into(),
                line: Some(41),
            }),
            output_uri: "azure-sessions://output/x.log".into(),
            displays: vec![DisplayOut {
                mime_type: "text/html".into(),
                uri: None,
                text: Some("<b>x</b>".into()),
                path: Some("/not/sent".into()),
            }],
        };
        let value = serde_json::to_value(&outcome).unwrap();
        assert_eq!(
            outcome.clone().into_value(),
            value,
            "both ways give the same JSON"
        );
        assert_eq!(value["error"]["type"], "ZeroDivisionError");
        assert_eq!(value["executionTimeMs"], 3);
        assert_eq!(value["outputUri"], "azure-sessions://output/x.log");
        assert_eq!(
            value["displays"],
            json!([{"mimeType": "text/html", "text": "<b>x</b>"}])
        );
    }
}
