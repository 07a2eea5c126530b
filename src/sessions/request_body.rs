//! The body of an execute request, by API and pool type, and what the client has learned about
//! each pool's taste: the body style it accepted (flat or wrapped in `properties`), whether it
//! refused `outputStreamsMaxLength`, and whether it has answered at all (a 404 from a pool that
//! answered before means "full", not "wrong endpoint").

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};

use super::{Api, ExecuteRequest, PoolTarget};

/// Output limit requested from the executions API (Azure's default is 4096 characters).
pub const OUTPUT_STREAMS_MAX_LENGTH: u64 = 1 << 20;
/// The first api-version with `outputStreamsMaxLength`.
const OUTPUT_MAX_SINCE: &str = "2025-10-02";

/// Document languages that run on a Shell pool (`shellCommand`).
pub fn is_shell(language: &str) -> bool {
    matches!(
        language.to_ascii_lowercase().as_str(),
        "shellscript" | "shell" | "bash" | "sh"
    )
}

/// Whether the pool takes `stdin`: Shell pools and custom containers. Code-interpreter pools
/// (Python, Node) reject fields that do not belong to their type.
pub fn takes_stdin(api: Api, language: &str) -> bool {
    api == Api::Custom || (api == Api::Executions && is_shell(language))
}

/// What a pool has shown it wants.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Learned {
    /// It refused the flat body (400 `SessionPropertiesMissing`) and took the wrapped one.
    pub wrapped: bool,
    /// It refused `outputStreamsMaxLength` by name.
    pub without_output_max: bool,
    /// It refused `returnJupyterFormatExecutionResult` by name.
    pub without_jupyter_format: bool,
    /// It has answered an execute request (so a later 404 is not a wrong endpoint).
    pub answered: bool,
}

/// Learned facts per pool endpoint, shared by every clone of the client.
#[derive(Debug, Default, Clone)]
pub struct Memory(Arc<Mutex<HashMap<String, Learned>>>);

impl Memory {
    pub fn get(&self, pool: &PoolTarget) -> Learned {
        self.0
            .lock()
            .map(|m| m.get(pool.endpoint().as_str()).copied().unwrap_or_default())
            .unwrap_or_default()
    }

    pub fn update(&self, pool: &PoolTarget, change: impl FnOnce(&mut Learned)) {
        if let Ok(mut map) = self.0.lock() {
            change(map.entry(pool.endpoint().as_str().to_owned()).or_default());
        }
    }
}

/// The JSON body of one execute request.
pub fn execute_body(pool: &PoolTarget, request: &ExecuteRequest<'_>, learned: Learned) -> Value {
    let timeout = request.timeout.as_secs().max(1);
    match pool.api {
        Api::Executions if is_shell(request.language) => {
            // Shell pools refuse codeInputType/executionType: only the command and its input.
            let mut body = json!({ "shellCommand": request.code, "timeoutInSeconds": timeout });
            if let Some(stdin) = request.stdin {
                body["stdin"] = json!(stdin);
            }
            body
        }
        Api::Executions => {
            let mut body = json!({
                "codeInputType": "Inline",
                "executionType": "Synchronous",
                "code": request.code,
                "timeoutInSeconds": timeout,
            });
            let version = pool.api_version.as_deref().unwrap_or("");
            if version >= OUTPUT_MAX_SINCE && !learned.without_output_max {
                body["outputStreamsMaxLength"] = json!(OUTPUT_STREAMS_MAX_LENGTH);
            }
            // Rich results (figures, HTML tables) as Jupyter MIME bundles, same api-version.
            if version >= OUTPUT_MAX_SINCE && !learned.without_jupyter_format {
                body["returnJupyterFormatExecutionResult"] = json!(true);
            }
            if learned.wrapped {
                json!({ "properties": body })
            } else {
                body
            }
        }
        Api::Legacy => json!({
            "properties": {
                "codeInputType": "inline",
                "executionType": "synchronous",
                "code": request.code,
                "timeoutInSeconds": timeout,
            }
        }),
        // Microsoft's custom-container sample reads `language` (default python) and
        // `timeoutInSeconds` (default 30 s); adapters that ignore them lose nothing.
        Api::Custom => json!({
            "properties": {
                "code": request.code,
                "stdin": request.stdin.unwrap_or(""),
                "language": request.language,
                "timeoutInSeconds": timeout,
            }
        }),
    }
}

/// Whether a 400 names `returnJupyterFormatExecutionResult` (a pool without the field).
pub fn refuses_jupyter_format(code: &str, message: &str) -> bool {
    format!("{code} {message}")
        .to_ascii_lowercase()
        .contains("returnjupyterformat")
}

/// Whether a 400 names `outputStreamsMaxLength` (a pool or api-version without the field).
pub fn refuses_output_max(code: &str, message: &str) -> bool {
    let text = format!("{code} {message}").to_ascii_lowercase();
    text.contains("outputstreamsmaxlength")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn request<'a>(language: &'a str, stdin: Option<&'a str>) -> ExecuteRequest<'a> {
        ExecuteRequest {
            identifier: "id-1234",
            code: "echo hi",
            language,
            stdin,
            timeout: Duration::from_secs(60),
            cold_start_budget: Duration::ZERO,
        }
    }

    fn pool(api: Api, version: Option<&str>) -> PoolTarget {
        PoolTarget::new("https://p.example.io", api, version, "{language}/execute").unwrap()
    }

    #[test]
    fn output_max_only_from_2025_10_02_and_not_after_a_refusal() {
        let python = request("python", None);
        let new = execute_body(&pool(Api::Executions, None), &python, Learned::default());
        assert_eq!(new["outputStreamsMaxLength"], 1 << 20);
        let old = execute_body(
            &pool(Api::Executions, Some("2024-10-02-preview")),
            &python,
            Learned::default(),
        );
        assert!(old.get("outputStreamsMaxLength").is_none());
        let refused = Learned {
            without_output_max: true,
            ..Learned::default()
        };
        let after = execute_body(&pool(Api::Executions, None), &python, refused);
        assert!(after.get("outputStreamsMaxLength").is_none());
    }

    #[test]
    fn shell_pools_get_the_command_and_its_input_only() {
        let body = execute_body(
            &pool(Api::Executions, None),
            &request("shellscript", Some("input")),
            Learned::default(),
        );
        assert_eq!(
            body,
            json!({"shellCommand": "echo hi", "timeoutInSeconds": 60, "stdin": "input"})
        );
        assert!(takes_stdin(Api::Executions, "shellscript"));
        assert!(takes_stdin(Api::Custom, "cpp"));
        assert!(!takes_stdin(Api::Executions, "python"));
        assert!(!takes_stdin(Api::Legacy, "javascript"));
    }

    #[test]
    fn custom_containers_get_language_and_timeout() {
        let body = execute_body(
            &pool(Api::Custom, None),
            &request("javascript", None),
            Learned::default(),
        );
        assert_eq!(body["properties"]["language"], "javascript");
        assert_eq!(body["properties"]["timeoutInSeconds"], 60);
    }
}
