//! Prewarm and `endpointOrigin`: an endpoint the workspace's own settings chose gets no token and
//! no request before the user's first run there (security review #7); a user's endpoint is
//! prewarmed at `initialized`.

mod common;

use std::collections::HashMap;
use std::time::Duration;

use axum::http::Method;
use common::fake_pool::*;
use common::lsp::*;
use common::workspace::{Workspace, workspace};
use serde_json::{Value, json};

/// How long a server that must not prewarm is watched after `initialized`.
const QUIET: Duration = Duration::from_millis(1200);

async fn pool() -> FakePool {
    FakePool::start(|request, _| {
        if request.method == Method::GET {
            azure_error(404, "SessionWithIdentifierNotFound", "no such session")
        } else {
            executions_ok("ran\n", json!(null))
        }
    })
    .await
}

fn described(pool: &FakePool) -> Vec<String> {
    pool.requests()
        .iter()
        .map(|r| format!("{} {}", r.method, r.path))
        .collect()
}

/// Watches the pool for [`QUIET`]: nothing may arrive. Then the first run works on its own.
async fn no_request_until_the_first_run(lsp: &Lsp, pool: &FakePool, ws: &Workspace) {
    tokio::time::sleep(QUIET).await;
    assert_eq!(
        described(pool),
        Vec::<String>::new(),
        "a workspace-chosen endpoint was contacted before any run"
    );
    let uri = file_uri(&ws.folder.join("main.py"));
    lsp.open(&uri, "python", "print(1)\n").await;
    let outcome = lsp
        .command("azure-sessions.run", json!({"uri": uri}))
        .await
        .expect("the first run works");
    assert_eq!(outcome["stdout"], "ran\n");
    assert_eq!(pool.executions().len(), 1);
}

async fn start(ws: &Workspace, options: Value, config: HashMap<String, Value>) -> Lsp {
    Lsp::start_configured(ws.state.path(), init_params(&[&ws.folder], options), config).await
}

#[tokio::test]
async fn a_workspace_chosen_endpoint_is_not_prewarmed() {
    let pool = pool().await;
    let ws = workspace();
    let settings =
        json!({"endpoint": pool.endpoint(), "endpointOrigin": "workspace", "auth": "none"});
    let lsp = start(&ws, settings, HashMap::new()).await;
    no_request_until_the_first_run(&lsp, &pool, &ws).await;
}

#[tokio::test]
async fn a_workspace_chosen_endpoint_pulled_for_the_folder_is_not_prewarmed() {
    // VS Code's route: the window's settings say "user", the folder's (pulled) "workspace".
    let pool = pool().await;
    let ws = workspace();
    let user = json!({"endpoint": pool.endpoint(), "endpointOrigin": "user", "auth": "none"});
    let folder =
        json!({"endpoint": pool.endpoint(), "endpointOrigin": "workspace", "auth": "none"});
    let config = HashMap::from([
        (String::new(), user.clone()),
        (file_uri(&ws.folder), folder),
    ]);
    let lsp = start(&ws, json!({"azureSessions": user}), config).await;
    no_request_until_the_first_run(&lsp, &pool, &ws).await;
}

#[tokio::test]
async fn a_user_chosen_endpoint_is_prewarmed() {
    let pool = pool().await;
    let ws = workspace();
    let settings = json!({"endpoint": pool.endpoint(), "endpointOrigin": "user", "auth": "none"});
    let _lsp = start(&ws, settings, HashMap::new()).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while pool.count() == 0 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(described(&pool), vec!["HEAD /".to_owned()]);
}

#[tokio::test]
async fn a_bad_endpoint_origin_is_reported_and_means_user() {
    let pool = pool().await;
    let ws = workspace();
    let settings = json!({"endpoint": pool.endpoint(), "endpointOrigin": "folder", "auth": "none"});
    let lsp = start(&ws, settings, HashMap::new()).await;
    lsp.wait_for("window/showMessage", |p| {
        p["message"]
            .as_str()
            .unwrap_or("")
            .contains("azureSessions.endpointOrigin")
    })
    .await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while pool.count() == 0 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(described(&pool), vec!["HEAD /".to_owned()]);
}
