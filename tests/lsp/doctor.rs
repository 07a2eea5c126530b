//! `azure-sessions.doctor`: the doctor's report for a document's (or the first folder's)
//! settings, as JSON, through the language server.

use serde_json::{Value, json};

use super::{local, start, uri_in, workspace};
use crate::common::fake_pool::*;

fn names(report: &Value) -> Vec<&str> {
    report["checks"]
        .as_array()
        .unwrap_or_else(|| panic!("no checks in {report}"))
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect()
}

fn check<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no {name} in {report}"))
}

#[tokio::test]
async fn the_doctor_command_checks_the_pool_of_a_document_or_the_folder() {
    assert!(azure_sessions_lsp::server::protocol::COMMANDS.contains(&"azure-sessions.doctor"));
    let ws = workspace();
    let lsp = start(&ws, local()).await;
    let report = lsp
        .command("azure-sessions.doctor", json!({}))
        .await
        .unwrap();
    assert_eq!(report["ok"], true, "{report}");
    assert_eq!(report["endpoint"], "local");
    assert_eq!(names(&report), ["Endpoint", "Run", "Cold start", "Cleanup"]);
    assert!(
        check(&report, "Run")["detail"]
            .as_str()
            .unwrap()
            .contains("`print(1)`")
    );

    // A JavaScript document: the one-line run is in its language.
    let uri = uri_in(&ws.folder, "app.js");
    lsp.open(&uri, "javascript", "console.log('hi')\n").await;
    let report = lsp
        .command("azure-sessions.doctor", json!({"uri": uri}))
        .await
        .unwrap();
    assert_eq!(report["ok"], true, "{report}");
    let run = check(&report, "Run")["detail"].as_str().unwrap();
    assert!(
        run.contains("console.log(1)") && run.contains("doctor-"),
        "{run}"
    );

    let error = lsp
        .command("azure-sessions.doctor", json!({"uri": 5}))
        .await
        .unwrap_err();
    assert_eq!(error["code"], -32602, "{error}");
}

#[tokio::test]
async fn an_unconfigured_endpoint_fails_the_first_check_and_skips_the_rest() {
    let ws = workspace();
    let lsp = start(&ws, json!({})).await;
    let report = lsp
        .command("azure-sessions.doctor", json!({}))
        .await
        .unwrap();
    assert_eq!(report["ok"], false);
    let endpoint = check(&report, "Endpoint");
    assert_eq!(endpoint["status"], "fail");
    assert!(
        endpoint["fix"]
            .as_str()
            .unwrap()
            .contains("azureSessions.endpoint")
    );
    for name in ["DNS", "TLS", "Token", "Role", "Run", "Cold start"] {
        assert_eq!(
            check(&report, name)["status"],
            "skipped",
            "{name}: {report}"
        );
    }
}

#[tokio::test]
async fn a_cold_pool_from_the_settings_reports_its_cold_start() {
    let pool = FakePool::start(|request, n| match request.method.as_str() {
        "POST" if n < 3 => status(503),
        "POST" => executions_ok("1\n", json!(null)),
        "DELETE" => status(204),
        _ => status(404),
    })
    .await;
    let ws = workspace();
    let lsp = start(
        &ws,
        json!({"azureSessions": {"endpoint": pool.endpoint(), "prewarm": false}}),
    )
    .await;
    let report = lsp
        .command("azure-sessions.doctor", json!({}))
        .await
        .unwrap();
    assert_eq!(report["ok"], true, "{report}");
    assert_eq!(
        names(&report),
        [
            "Endpoint",
            "DNS",
            "Connection",
            "Key",
            "Run",
            "Cold start",
            "Cleanup"
        ]
    );
    let cold = check(&report, "Cold start")["detail"].as_str().unwrap();
    assert!(cold.contains("503 Service Unavailable before it"), "{cold}");
}
