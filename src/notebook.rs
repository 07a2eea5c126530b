//! A session's runs as a Jupyter notebook (nbformat 4.5): one code cell per run, with its
//! outputs as Jupyter writes them (streams, the result, displays, the error).

use base64::Engine;
use serde_json::{Value, json};

/// One run as the notebook keeps it.
#[derive(Debug, Clone, PartialEq)]
pub struct RunRecord {
    pub number: u64,
    pub code: String,
    pub stdout: String,
    pub stderr: String,
    /// The plain value of the last expression, `null` when none.
    pub result: Value,
    /// `(type, message)` when the code failed.
    pub error: Option<(String, String)>,
    pub displays: Vec<Display>,
}

/// A display as saved: text inline, or binary data in a file.
#[derive(Debug, Clone, PartialEq)]
pub struct Display {
    pub mime_type: String,
    pub text: Option<String>,
    pub path: Option<std::path::PathBuf>,
}

/// The notebook of these runs, for a kernel of `language` (`python`, `javascript`, …).
pub fn notebook(runs: &[RunRecord], language: &str) -> Value {
    let (kernel, display_name) = match language {
        "python" => ("python3", "Python 3"),
        "javascript" => ("javascript", "JavaScript (Node.js)"),
        other => (other, other),
    };
    json!({
        "nbformat": 4,
        "nbformat_minor": 5,
        "metadata": {
            "kernelspec": {"name": kernel, "display_name": display_name, "language": language},
            "language_info": {"name": language},
        },
        "cells": runs.iter().map(cell).collect::<Vec<_>>(),
    })
}

fn cell(run: &RunRecord) -> Value {
    let count = run.number;
    let mut outputs = Vec::new();
    for (name, text) in [("stdout", &run.stdout), ("stderr", &run.stderr)] {
        // A failed run's stderr is its traceback: the error output carries it.
        let is_traceback = name == "stderr" && run.error.is_some();
        if !text.is_empty() && !is_traceback {
            outputs.push(json!({"output_type": "stream", "name": name, "text": lines(text)}));
        }
    }
    for display in &run.displays {
        if let Some(data) = display_data(display) {
            outputs.push(json!({"output_type": "display_data", "data": data, "metadata": {}}));
        }
    }
    match &run.result {
        Value::Null => {}
        value => {
            let text = match value {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            outputs.push(json!({
                "output_type": "execute_result",
                "execution_count": count,
                "data": {"text/plain": lines(&text)},
                "metadata": {},
            }));
        }
    }
    if let Some((kind, message)) = &run.error {
        outputs.push(json!({
            "output_type": "error",
            "ename": kind,
            "evalue": message,
            "traceback": run.stderr.lines().collect::<Vec<_>>(),
        }));
    }
    json!({
        "cell_type": "code",
        "id": format!("run-{count}"),
        "execution_count": count,
        "metadata": {},
        "source": lines(&run.code),
        "outputs": outputs,
    })
}

/// A display's MIME bundle: text as is, binary data base64 from its file.
fn display_data(display: &Display) -> Option<Value> {
    let value = match (&display.text, &display.path) {
        (Some(text), _) if display.mime_type == "application/json" => {
            serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.clone()))
        }
        (Some(text), _) => json!(lines(text)),
        (None, Some(path)) => {
            let bytes = std::fs::read(path).ok()?;
            if display.mime_type.starts_with("image/") && display.mime_type != "image/svg+xml" {
                Value::String(base64::engine::general_purpose::STANDARD.encode(bytes))
            } else {
                json!(lines(&String::from_utf8_lossy(&bytes)))
            }
        }
        (None, None) => return None,
    };
    Some(json!({ display.mime_type.clone(): value }))
}

/// nbformat's multi-line text: a list of lines, each with its newline but the last.
fn lines(text: &str) -> Vec<&str> {
    text.split_inclusive('\n').collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_become_cells_with_their_outputs() {
        let runs = vec![
            RunRecord {
                number: 1,
                code: "x = 6 * 7\nx\n".into(),
                stdout: "hi\n".into(),
                stderr: String::new(),
                result: json!("42"),
                error: None,
                displays: vec![Display {
                    mime_type: "text/html".into(),
                    text: Some("<b>42</b>".into()),
                    path: None,
                }],
            },
            RunRecord {
                number: 2,
                code: "1/0".into(),
                stdout: String::new(),
                stderr: "Traceback (most recent call last):\nZeroDivisionError: division by zero\n"
                    .into(),
                result: Value::Null,
                error: Some(("ZeroDivisionError".into(), "division by zero".into())),
                displays: Vec::new(),
            },
        ];
        let nb = notebook(&runs, "python");
        assert_eq!(nb["metadata"]["kernelspec"]["name"], "python3");
        let cells = nb["cells"].as_array().unwrap();
        assert_eq!(cells[0]["source"], json!(["x = 6 * 7\n", "x\n"]));
        let kinds: Vec<&str> = cells[0]["outputs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["output_type"].as_str().unwrap())
            .collect();
        assert_eq!(kinds, ["stream", "display_data", "execute_result"]);
        assert_eq!(cells[1]["outputs"][0]["output_type"], "error");
        assert_eq!(cells[1]["outputs"].as_array().unwrap().len(), 1);
    }
}
