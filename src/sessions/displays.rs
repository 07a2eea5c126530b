//! Rich results ("displays") read out of an execution's result, whatever shape the pool used:
//!
//! - the legacy image object `{"type":"image","format":"png","base64_data":…}` (evidenced for
//!   `code/execute` by client code: LangChain, LlamaIndex);
//! - a Jupyter MIME bundle `{"image/png": "<base64>", "text/html": "…", "text/plain": "…"}`, or
//!   one wrapped as Jupyter's `execute_result`/`display_data` (`{"data": bundle, "metadata"}`),
//!   or a list of such outputs (`returnJupyterFormatExecutionResult` on 2025-10-02-preview: the
//!   shape is not documented, so every one of these is read, see `docs/protocol.md`).
//!
//! The result left behind is the plain value: a bundle's `text/plain`, or the value itself.

use base64::Engine;
use serde_json::{Map, Value};

/// MIME types shown, richest first; others in a bundle are ignored.
pub const SHOWN_MIME_TYPES: &[&str] = &[
    "image/png",
    "image/jpeg",
    "image/svg+xml",
    "text/html",
    "text/markdown",
    "application/json",
];

/// One rich result of a run.
#[derive(Debug, Clone, PartialEq)]
pub struct Display {
    pub mime_type: String,
    pub content: Content,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Content {
    /// Text shown as is: SVG, HTML, Markdown, JSON.
    Text(String),
    /// Binary data (PNG, JPEG), decoded.
    Bytes(Vec<u8>),
}

impl Display {
    /// The file extension for saving it.
    pub fn extension(&self) -> &'static str {
        match self.mime_type.as_str() {
            "image/png" => "png",
            "image/jpeg" => "jpg",
            "image/svg+xml" => "svg",
            "text/html" => "html",
            "text/markdown" => "md",
            "application/json" => "json",
            _ => "bin",
        }
    }
}

/// Takes the displays out of a result, leaving its plain value. A legacy image object stays in
/// the result (editors and the transcript name its saved file) and is also a display.
pub fn take_displays(result: &mut Value) -> Vec<Display> {
    let mut displays = Vec::new();
    match result {
        Value::Object(map) if is_legacy_image(map) => {
            displays.extend(legacy_image(map));
        }
        Value::Object(map) => {
            if let Some(bundle) = bundle_of(map) {
                let plain = plain_text(bundle);
                displays.extend(from_bundle(bundle));
                *result = plain;
            }
        }
        Value::Array(items) if !items.is_empty() && items.iter().all(is_output) => {
            let mut plain = Value::Null;
            for item in items.iter() {
                let Some(bundle) = item.as_object().and_then(bundle_of) else {
                    continue;
                };
                displays.extend(from_bundle(bundle));
                // The value of the last expression is the `execute_result`.
                if item.get("output_type").and_then(Value::as_str) != Some("display_data") {
                    plain = plain_text(bundle);
                }
            }
            *result = plain;
        }
        _ => {}
    }
    displays
}

fn is_legacy_image(map: &Map<String, Value>) -> bool {
    map.get("type").and_then(Value::as_str) == Some("image") && map.contains_key("base64_data")
}

fn legacy_image(map: &Map<String, Value>) -> Option<Display> {
    let format = map
        .get("format")
        .and_then(Value::as_str)
        .unwrap_or("png")
        .to_ascii_lowercase();
    let mime_type = match format.as_str() {
        "jpg" | "jpeg" => "image/jpeg",
        "svg" => "image/svg+xml",
        _ => "image/png",
    };
    decoded(mime_type, map.get("base64_data")?)
}

/// A MIME bundle: an object whose keys are all MIME types (`type/subtype`).
fn is_bundle(map: &Map<String, Value>) -> bool {
    let known = |k: &String| k == "text/plain" || SHOWN_MIME_TYPES.contains(&k.as_str());
    map.keys().any(known)
        && map
            .keys()
            .all(|k| k.contains('/') && !k.contains(' ') && k.len() < 100)
}

/// The bundle of an output: itself, or its `data`.
fn bundle_of(map: &Map<String, Value>) -> Option<&Map<String, Value>> {
    if is_bundle(map) {
        return Some(map);
    }
    map.get("data")
        .and_then(Value::as_object)
        .filter(|data| is_bundle(data))
}

/// A Jupyter output (`{"output_type", "data"}`) or a bare bundle.
fn is_output(item: &Value) -> bool {
    item.as_object().and_then(bundle_of).is_some()
}

fn from_bundle(bundle: &Map<String, Value>) -> Vec<Display> {
    // One picture per output: the richest image; text forms besides it.
    let image = ["image/png", "image/jpeg", "image/svg+xml"]
        .iter()
        .find_map(|m| bundle.get(*m).and_then(|v| decoded(m, v)));
    let texts = ["text/html", "text/markdown", "application/json"]
        .iter()
        .filter_map(|m| {
            let value = bundle.get(*m)?;
            let text = match value {
                Value::String(s) => s.clone(),
                // nbformat keeps multi-line text as a list of lines.
                Value::Array(lines) if lines.iter().all(Value::is_string) => {
                    lines.iter().filter_map(Value::as_str).collect()
                }
                other => serde_json::to_string_pretty(other).ok()?,
            };
            Some(Display {
                mime_type: (*m).to_owned(),
                content: Content::Text(text),
            })
        });
    image.into_iter().chain(texts).collect()
}

fn decoded(mime_type: &str, value: &Value) -> Option<Display> {
    let joined: String;
    let text: &str = match value {
        Value::String(s) => s,
        Value::Array(lines) => {
            joined = lines.iter().filter_map(Value::as_str).collect();
            &joined
        }
        _ => return None,
    };
    let content = if mime_type == "image/svg+xml" {
        Content::Text(text.to_owned())
    } else {
        Content::Bytes(decode_base64(text)?)
    };
    Some(Display {
        mime_type: mime_type.to_owned(),
        content,
    })
}

/// Decodes base64 that may be wrapped in lines (as Jupyter writes it) without copying the text
/// when it is not: an image's text is the largest thing a run returns.
fn decode_base64(text: &str) -> Option<Vec<u8>> {
    let engine = &base64::engine::general_purpose::STANDARD;
    if !text.bytes().any(|b| b.is_ascii_whitespace()) {
        return engine.decode(text).ok();
    }
    let compact: String = text.split_whitespace().collect();
    engine.decode(compact).ok()
}

/// The bundle's `text/plain`, as the value of the run.
fn plain_text(bundle: &Map<String, Value>) -> Value {
    match bundle.get("text/plain") {
        Some(Value::String(s)) => Value::String(s.clone()),
        Some(Value::Array(lines)) => {
            Value::String(lines.iter().filter_map(Value::as_str).collect())
        }
        _ => Value::Null,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const PNG: &str = "iVBORw0KGgo=";

    #[test]
    fn the_legacy_image_stays_and_is_a_display() {
        let mut result = json!({"type": "image", "format": "png", "base64_data": PNG});
        let displays = take_displays(&mut result);
        assert_eq!(displays.len(), 1);
        assert_eq!(displays[0].mime_type, "image/png");
        assert_eq!(
            displays[0].content,
            Content::Bytes(b"\x89PNG\r\n\x1a\n".to_vec())
        );
        assert_eq!(result["type"], "image");
    }

    #[test]
    fn base64_wrapped_in_lines_or_split_in_a_list_decodes_the_same() {
        let png = Content::Bytes(b"\x89PNG\r\n\x1a\n".to_vec());
        for data in [
            json!("iVBORw0K\nGgo=\n"),
            json!(["iVBORw0K\n", "Ggo="]),
            json!(PNG),
        ] {
            let mut result = json!({"image/png": data, "text/plain": "x"});
            let displays = take_displays(&mut result);
            assert_eq!(displays.len(), 1, "{data}");
            assert_eq!(displays[0].content, png, "{data}");
        }
        let mut bad = json!({"image/png": "not base64!", "text/plain": "x"});
        assert!(take_displays(&mut bad).is_empty());
    }

    #[test]
    fn a_mime_bundle_gives_its_displays_and_leaves_its_text() {
        let mut result =
            json!({"text/plain": "<Figure>", "image/png": PNG, "text/html": "<b>x</b>"});
        let displays = take_displays(&mut result);
        let types: Vec<&str> = displays.iter().map(|d| d.mime_type.as_str()).collect();
        assert_eq!(types, ["image/png", "text/html"]);
        assert_eq!(result, json!("<Figure>"));
        // The same wrapped as an execute_result.
        let mut wrapped = json!({"data": {"text/plain": "df", "text/html": ["<table>", "</table>"]}, "metadata": {}});
        let displays = take_displays(&mut wrapped);
        assert_eq!(displays[0].content, Content::Text("<table></table>".into()));
        assert_eq!(wrapped, json!("df"));
    }

    #[test]
    fn a_list_of_outputs_gives_every_figure_and_the_last_value() {
        let mut result = json!([
            {"output_type": "display_data", "data": {"image/png": PNG, "text/plain": "<Figure 1>"}},
            {"output_type": "display_data", "data": {"image/svg+xml": "<svg/>"}},
            {"output_type": "execute_result", "data": {"text/plain": "42"}, "metadata": {}},
        ]);
        let displays = take_displays(&mut result);
        assert_eq!(displays.len(), 2);
        assert_eq!(displays[1].content, Content::Text("<svg/>".into()));
        assert_eq!(result, json!("42"));
    }

    #[test]
    fn plain_values_are_left_alone() {
        for value in [
            json!(42),
            json!("'nan'"),
            json!({"a": 1}),
            json!({"x/y": 1}),
            json!([1, 2]),
            json!(null),
            json!({"type": "image"}),
        ] {
            let mut result = value.clone();
            assert!(take_displays(&mut result).is_empty(), "{value}");
            assert_eq!(result, value);
        }
        // Bad base64 is no image.
        let mut bad = json!({"image/png": "%%%", "text/plain": "x"});
        assert!(take_displays(&mut bad).is_empty());
    }
}
