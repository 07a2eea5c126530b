//! The language server end to end, in process: commands, code actions, diagnostics on the
//! right lines, the transcript, sessions, settings, cancel and ordering. How run marks follow
//! edits is in `lsp/marks.rs`.

mod common;
#[path = "lsp/marks.rs"]
mod marks;

use std::path::Path;
use std::time::{Duration, Instant};

use common::fake_pool::*;
use common::lsp::*;
use serde_json::{Value, json};

struct Workspace {
    _root: tempfile::TempDir,
    state: tempfile::TempDir,
    folder: std::path::PathBuf,
}

fn workspace() -> Workspace {
    let root = tempfile::tempdir().unwrap();
    let folder = root.path().join("project");
    std::fs::create_dir_all(&folder).unwrap();
    Workspace {
        state: tempfile::tempdir().unwrap(),
        folder,
        _root: root,
    }
}

fn local() -> Value {
    json!({"azureSessions": {"endpoint": "local"}})
}

async fn start(ws: &Workspace, options: Value) -> Lsp {
    Lsp::start(ws.state.path(), init_params(&[&ws.folder], options)).await
}

fn uri_in(folder: &Path, name: &str) -> String {
    file_uri(&folder.join(name))
}

fn range(sl: u32, sc: u32, el: u32, ec: u32) -> Value {
    json!({"start": {"line": sl, "character": sc}, "end": {"line": el, "character": ec}})
}

const PROGRAM: &str = "import math\nx = 6 * 7\ndef f():\n    y = x + 1\n    return y\n# %%\nprint(\"cell\", x)\nif True:\n    z = 1\n    print(z)\n";

#[path = "lsp/runs.rs"]
mod runs;

#[path = "lsp/errors.rs"]
mod errors;

#[path = "lsp/sessions.rs"]
mod sessions;

#[path = "lsp/setup.rs"]
mod setup;

#[path = "lsp/earlier_runs.rs"]
mod earlier_runs;

#[path = "lsp/shell.rs"]
mod shell;

#[path = "lsp/languages.rs"]
mod languages;

#[path = "lsp/displays.rs"]
mod displays;

#[path = "lsp/notebook.rs"]
mod notebook;

#[path = "lsp/data.rs"]
mod data;

#[path = "lsp/doctor.rs"]
mod doctor;
