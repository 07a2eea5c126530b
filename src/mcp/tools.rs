//! The tool list: names, descriptions an agent can act on, JSON schemas and annotations.

use rmcp::model::Tool;
use serde_json::{Value, json};

fn tool(name: &str, title: &str, description: &str, schema: Value, annotations: Value) -> Tool {
    let mut annotations = annotations;
    annotations["title"] = json!(title);
    serde_json::from_value(json!({
        "name": name,
        "title": title,
        "description": description,
        "inputSchema": schema,
        "annotations": annotations,
    }))
    .expect("a valid tool definition")
}

/// Every tool this server offers.
pub fn all() -> Vec<Tool> {
    let none = json!({"type": "object", "properties": {}, "additionalProperties": false});
    vec![
        tool(
            "run_code",
            "Run code in the session",
            "Run code in the folder's remote session (the same session the editor uses for this \
             folder). State persists between runs: variables, imports and files stay. Returns \
             stdout, stderr, the value of the last expression, the error with its line, and \
             images as image content. Default language: python.",
            json!({"type": "object", "properties": {
                "code": {"type": "string", "description": "The code to run."},
                "language": {"type": "string", "description": "The pool's language name: python (default) or javascript; bash on a Shell pool."}
            }, "required": ["code"], "additionalProperties": false}),
            json!({"readOnlyHint": false, "destructiveHint": false, "idempotentHint": false, "openWorldHint": true}),
        ),
        tool(
            "run_file",
            "Run a workspace file (or a cell or lines of it)",
            "Run a file of the workspace in the session, or only the cell (between `# %%` markers) \
             that holds `cell`, or the lines `range.start`..`range.end`. Lines are 1-based. An \
             error's line is the file's line. The language follows the file's extension.",
            json!({"type": "object", "properties": {
                "path": {"type": "string", "description": "The file, relative to the workspace folder."},
                "cell": {"type": "integer", "minimum": 1, "description": "Run only the cell holding this 1-based line."},
                "range": {"type": "object", "properties": {
                    "start": {"type": "integer", "minimum": 1},
                    "end": {"type": "integer", "minimum": 1}
                }, "required": ["start", "end"], "additionalProperties": false,
                  "description": "Run only these 1-based lines (inclusive)."}
            }, "required": ["path"], "additionalProperties": false}),
            json!({"readOnlyHint": false, "destructiveHint": false, "idempotentHint": false, "openWorldHint": true}),
        ),
        tool(
            "list_files",
            "List the session's files",
            "List the files in the session's /mnt/data folder (name, size, last modified).",
            none.clone(),
            json!({"readOnlyHint": true, "openWorldHint": true}),
        ),
        tool(
            "upload_file",
            "Upload a workspace file to the session",
            "Upload a file of the workspace folder to the session's /mnt/data, where code can read \
             it. Paths outside the workspace folder are refused.",
            json!({"type": "object", "properties": {
                "path": {"type": "string", "description": "The local file, relative to the workspace folder."},
                "remoteName": {"type": "string", "description": "The name in /mnt/data (default: the file's name)."}
            }, "required": ["path"], "additionalProperties": false}),
            json!({"readOnlyHint": false, "destructiveHint": false, "idempotentHint": true, "openWorldHint": true}),
        ),
        tool(
            "download_file",
            "Download a session file into the workspace",
            "Download a file of the session's /mnt/data into the workspace folder (overwriting a \
             file already there). Paths outside the workspace folder are refused.",
            json!({"type": "object", "properties": {
                "remoteName": {"type": "string", "description": "The name in /mnt/data."},
                "path": {"type": "string", "description": "Where to write it, relative to the workspace folder."}
            }, "required": ["remoteName", "path"], "additionalProperties": false}),
            json!({"readOnlyHint": false, "destructiveHint": true, "idempotentHint": true, "openWorldHint": false}),
        ),
        tool(
            "session_info",
            "Describe the session",
            "The pool endpoint, API, session identifier, workspace folder and the number of runs \
             made by this server.",
            none.clone(),
            json!({"readOnlyHint": true, "openWorldHint": false}),
        ),
        tool(
            "reset_session",
            "Reset the session",
            "Reset the session: every variable and file in it is lost. The folder moves to a new \
             session identifier (the editor follows it) and the old session is deleted. \
             Ask the user first.",
            none.clone(),
            json!({"readOnlyHint": false, "destructiveHint": true, "idempotentHint": true, "openWorldHint": true}),
        ),
        tool(
            "variables",
            "List the session's variables",
            "The user variables of a Python or JavaScript session: name, type, a short summary \
             and size. Defines nothing in the session.",
            json!({"type": "object", "properties": {
                "language": {"type": "string", "description": "python (default) or javascript."}
            }, "additionalProperties": false}),
            json!({"readOnlyHint": true, "openWorldHint": true}),
        ),
    ]
}
