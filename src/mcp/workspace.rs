//! The settings for the workspace folder: flags and environment variables, then the folder's
//! `.vscode/settings.json` `azureSessions.*` keys.

use std::path::Path;

use serde_json::{Map, Value};

use crate::cli::PoolArgs;
use crate::settings::{self, Settings};

/// The settings for the workspace: a flag (or its environment variable) that differs from its
/// default wins over the folder's `.vscode/settings.json`.
pub fn workspace_settings(args: &PoolArgs, workspace: &Path) -> Settings {
    let flags = args.settings();
    let Some(file) = read_vscode_settings(workspace) else {
        return flags;
    };
    let (mut merged, errors) = Settings::from_json(&Value::Object(file));
    for error in errors {
        tracing::warn!(key = error.key, "ignored setting: {}", error.message);
    }
    let defaults = crate::cli::PoolArgs {
        endpoint: String::new(),
        api: "executions".into(),
        api_version: None,
        custom_path: settings::DEFAULT_CUSTOM_PATH.into(),
        auth: "auto".into(),
        language: None,
        timeout_seconds: settings::DEFAULT_TIMEOUT_SECONDS,
        cold_start_timeout_seconds: settings::DEFAULT_COLD_START_TIMEOUT_SECONDS,
    };
    // An endpoint from the folder's own file: nothing is sent before the first tool call
    // (the pool is reached lazily anyway).
    merged.endpoint_origin = settings::EndpointOrigin::Workspace;
    if args.endpoint.trim() != defaults.endpoint {
        merged.endpoint = flags.endpoint;
        merged.endpoint_origin = settings::EndpointOrigin::User;
    }
    if args.api != defaults.api {
        merged.api = flags.api;
    }
    if args.api_version.is_some() {
        merged.api_version = flags.api_version;
    }
    if args.custom_path != defaults.custom_path {
        merged.custom_path = flags.custom_path;
    }
    if args.auth != defaults.auth {
        merged.auth = flags.auth;
    }
    if args.timeout_seconds != defaults.timeout_seconds {
        merged.timeout = flags.timeout;
    }
    if args.cold_start_timeout_seconds != defaults.cold_start_timeout_seconds {
        merged.cold_start_timeout = flags.cold_start_timeout;
    }
    merged
}

/// The `azureSessions.*` keys of `.vscode/settings.json` (JSON with comments and trailing
/// commas, as VS Code writes it), prefix stripped.
fn read_vscode_settings(workspace: &Path) -> Option<Map<String, Value>> {
    let path = workspace.join(".vscode").join("settings.json");
    let text = std::fs::read_to_string(&path).ok()?;
    let value: Value = match serde_json::from_str(&strip_jsonc(&text)) {
        Ok(value) => value,
        Err(error) => {
            tracing::warn!(
                "{} could not be read as JSON, ignored: {error}",
                path.display()
            );
            return None;
        }
    };
    let mut out = Map::new();
    for (key, value) in value.as_object()? {
        if let Some(name) = key.strip_prefix("azureSessions.") {
            out.insert(name.to_owned(), value.clone());
        } else if key == "azureSessions"
            && let Some(object) = value.as_object()
        {
            out.extend(object.clone());
        }
    }
    // Said by the editor integration, not a user setting.
    out.remove("endpointOrigin");
    (!out.is_empty()).then_some(out)
}

/// JSON with comments (`//`, `/* */`) and trailing commas made plain JSON: comments become
/// spaces, a comma followed (past whitespace and comments) by `}` or `]` is dropped.
pub fn strip_jsonc(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    let mut in_string = false;
    while i < chars.len() {
        let c = chars[i];
        if in_string {
            out.push(c);
            if c == '\\' && i + 1 < chars.len() {
                out.push(chars[i + 1]);
                i += 1;
            } else if c == '"' {
                in_string = false;
            }
            i += 1;
            continue;
        }
        match (c, chars.get(i + 1)) {
            ('"', _) => {
                in_string = true;
                out.push(c);
                i += 1;
            }
            ('/', Some('/')) => {
                while i < chars.len() && chars[i] != '\n' {
                    i += 1;
                }
            }
            ('/', Some('*')) => {
                i += 2;
                while i < chars.len() && !(chars[i] == '*' && chars.get(i + 1) == Some(&'/')) {
                    i += 1;
                }
                i += 2;
                out.push(' ');
            }
            (',', _) => {
                if !matches!(next_significant(&chars, i + 1), Some('}' | ']')) {
                    out.push(',');
                }
                i += 1;
            }
            _ => {
                out.push(c);
                i += 1;
            }
        }
    }
    out
}

/// The first character from `i` on that is neither whitespace nor in a comment.
fn next_significant(chars: &[char], mut i: usize) -> Option<char> {
    loop {
        match (chars.get(i)?, chars.get(i + 1)) {
            (c, _) if c.is_whitespace() => i += 1,
            ('/', Some('/')) => {
                while i < chars.len() && chars[i] != '\n' {
                    i += 1;
                }
            }
            ('/', Some('*')) => {
                i += 2;
                while i < chars.len() && !(chars[i] == '*' && chars.get(i + 1) == Some(&'/')) {
                    i += 1;
                }
                i += 2;
            }
            (c, _) => return Some(*c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::strip_jsonc;
    use serde_json::json;

    #[test]
    fn comments_and_trailing_commas_are_read() {
        let text = "{\n  // the pool\n  \"azureSessions.endpoint\": \"local\", /* here */\n  \"a\": [1, 2,],\n  \"url\": \"http://x//y\",\n}\n";
        let value: serde_json::Value = serde_json::from_str(&strip_jsonc(text)).unwrap();
        assert_eq!(
            value,
            json!({"azureSessions.endpoint": "local", "a": [1, 2], "url": "http://x//y"})
        );
    }
}
