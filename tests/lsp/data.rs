//! Issue 15's data user, with the real libraries (from PyPI): a `# %%` cell that plots with
//! matplotlib and one that returns a pandas DataFrame, on the local pool, come back as a PNG
//! and an HTML table.

use serde_json::{Value, json};

use super::common::lsp::{Lsp, init_params};
use super::common::pyvenv::python_for_data;
use super::{uri_in, workspace};

const CELLS: &str = "# %%\nimport matplotlib.pyplot as plt\nplt.plot([1, 2, 3], [1, 4, 9])\n# %%\nimport pandas as pd\npd.DataFrame({'x': [1, 2], 'y': [3, 4]})\n";

fn display<'a>(outcome: &'a Value, mime: &str) -> &'a Value {
    outcome["displays"]
        .as_array()
        .and_then(|all| all.iter().find(|d| d["mimeType"] == mime))
        .unwrap_or_else(|| panic!("no {mime} display in {outcome}"))
}

#[tokio::test]
async fn a_matplotlib_plot_and_a_pandas_table_come_back_as_displays() {
    let python = python_for_data();
    let ws = workspace();
    let log = ws.state.path().join("server.log");
    let env = [
        ("AZURE_SESSIONS_PYTHON", python.display().to_string()),
        ("XDG_STATE_HOME", ws.state.path().display().to_string()),
        // matplotlib builds its font cache here on first import.
        (
            "MPLCONFIGDIR",
            ws.state.path().join("mpl").display().to_string(),
        ),
    ];
    let params = init_params(
        &[&ws.folder],
        json!({"azureSessions": {"endpoint": "local", "timeoutSeconds": 120}}),
    );
    let lsp = Lsp::spawn(&env, &log, params).await;
    let uri = uri_in(&ws.folder, "analysis.py");
    lsp.open(&uri, "python", CELLS).await;

    let plot = lsp
        .command(
            "azure-sessions.runCell",
            json!({"uri": uri, "position": {"line": 2, "character": 0}}),
        )
        .await
        .unwrap();
    let png = display(&plot, "image/png");
    let path = png["uri"]
        .as_str()
        .and_then(|u| u.strip_prefix("file://"))
        .unwrap_or_else(|| panic!("the figure is saved as a file: {plot}"));
    let bytes = std::fs::read(path).unwrap();
    assert!(
        bytes.starts_with(b"\x89PNG\r\n\x1a\n") && bytes.len() > 5_000,
        "a real PNG of the plot ({} bytes)",
        bytes.len()
    );

    let table = lsp
        .command(
            "azure-sessions.runCell",
            json!({"uri": uri, "position": {"line": 5, "character": 0}}),
        )
        .await
        .unwrap();
    let html = display(&table, "text/html")["text"].as_str().unwrap();
    assert!(
        html.contains("<table") && html.contains("dataframe") && html.contains("<th>y</th>"),
        "{html}"
    );
    // The DataFrame's text form is the run's value, as Jupyter shows it.
    let text = table["result"].as_str().unwrap_or_default();
    assert!(
        text.contains('x') && text.contains('y') && text.contains('4'),
        "{table}"
    );
}
