//! The local pool against real HTTP requests: `LocalPool::start` on port 0, reqwest as client.

use std::time::{Duration, Instant};

use azure_sessions_lsp::pool::{Language, LocalPool, PoolOptions};
use serde_json::{Value, json};

const API: &str = "2025-10-02-preview";
const LEGACY: &str = "2024-02-02-preview";

struct Pool {
    pool: LocalPool,
    http: reqwest::Client,
}

async fn start(opts: PoolOptions) -> Pool {
    let pool = tokio::time::timeout(Duration::from_secs(20), LocalPool::start(opts))
        .await
        .expect("the pool starts in time")
        .expect("the pool starts");
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        reqwest::header::AUTHORIZATION,
        format!("Bearer {}", pool.key()).parse().unwrap(),
    );
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .no_proxy()
        .default_headers(headers)
        .build()
        .expect("client");
    Pool { pool, http }
}

async fn python() -> Pool {
    start(PoolOptions::default()).await
}

fn node_available() -> bool {
    let found = std::process::Command::new("node")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        eprintln!("note: node is not installed; skipping this JavaScript test");
    }
    found
}

impl Pool {
    fn url(&self, path: &str, api: Option<&str>, id: Option<&str>) -> String {
        let mut query = Vec::new();
        if let Some(api) = api {
            query.push(format!("api-version={api}"));
        }
        if let Some(id) = id {
            query.push(format!("identifier={id}"));
        }
        format!("{}{path}?{}", self.pool.endpoint(), query.join("&"))
    }

    async fn post_json(&self, url: String, body: Value) -> reqwest::Response {
        self.http
            .post(url)
            .json(&body)
            .send()
            .await
            .expect("request")
    }

    /// `POST /executions` with a flat body; returns the resource.
    async fn exec_with(&self, id: &str, body: Value) -> Value {
        let response = self
            .post_json(self.url("/executions", Some(API), Some(id)), body)
            .await;
        // Azure's recorded answer to a synchronous run: 202 with the final result.
        assert_eq!(response.status(), 202);
        response.json().await.expect("json")
    }

    async fn exec(&self, id: &str, code: &str) -> Value {
        self.exec_with(
            id,
            json!({"codeInputType": "Inline", "executionType": "Synchronous", "code": code}),
        )
        .await
    }

    async fn session(&self, id: &str) -> Value {
        let response = self
            .http
            .get(self.url("/session", Some(API), Some(id)))
            .send()
            .await
            .expect("request");
        assert_eq!(response.status(), 200);
        response.json().await.expect("json")
    }

    async fn upload(
        &self,
        path: &str,
        api: &str,
        id: &str,
        name: &str,
        data: &[u8],
    ) -> reqwest::Response {
        let part = reqwest::multipart::Part::bytes(data.to_vec())
            .file_name(name.to_string())
            .mime_str("application/octet-stream")
            .expect("mime");
        let form = reqwest::multipart::Form::new().part("file", part);
        self.http
            .post(self.url(path, Some(api), Some(id)))
            .multipart(form)
            .send()
            .await
            .expect("request")
    }

    async fn get(&self, path: &str, api: Option<&str>, id: Option<&str>) -> reqwest::Response {
        self.http
            .get(self.url(path, api, id))
            .send()
            .await
            .expect("request")
    }
}

fn stdout(v: &Value) -> &str {
    v["result"]["stdout"].as_str().unwrap_or_default()
}

fn stderr(v: &Value) -> &str {
    v["result"]["stderr"].as_str().unwrap_or_default()
}

/// A process that is gone or a zombie waiting to be reaped no longer runs.
fn alive(pid: i64) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => !stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')),
        Err(_) => false,
    }
}

#[path = "pool/runs.rs"]
mod runs;

#[path = "pool/wire.rs"]
mod wire;

#[path = "pool/files.rs"]
mod files;

#[path = "pool/lifecycle.rs"]
mod lifecycle;

#[path = "pool/node.rs"]
mod node;

#[path = "pool/workers.rs"]
mod workers;

#[path = "pool/shell.rs"]
mod shell;

#[path = "pool/piston.rs"]
mod piston;

#[path = "pool/piston_jobs.rs"]
mod piston_jobs;
