//! `azure-sessions-lsp mcp` spoken to over its stdio, as an agent would: newline-delimited
//! JSON-RPC, every wait bounded.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::Duration;

use serde_json::{Value, json};

pub struct Mcp {
    child: Child,
    stdin: ChildStdin,
    lines: Receiver<String>,
    pub next_id: u64,
}

impl Mcp {
    pub fn start(workspace: &Path, state: &Path, extra: &[&str]) -> Mcp {
        Mcp::start_with_env(workspace, state, extra, &[])
    }

    /// Like [`Mcp::start`], with more environment variables.
    pub fn start_with_env(
        workspace: &Path,
        state: &Path,
        extra: &[&str],
        env: &[(&str, String)],
    ) -> Mcp {
        let mut child = Command::new(env!("CARGO_BIN_EXE_azure-sessions-lsp"))
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
            .arg("mcp")
            .arg("--workspace")
            .arg(workspace)
            .args(extra)
            .env("XDG_STATE_HOME", state)
            .env_remove("AZURE_SESSIONS_ENDPOINT")
            .env_remove("AZURE_SESSIONS_LANGUAGE")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("the binary starts");
        let stdin = child.stdin.take().unwrap();
        let stdout = child.stdout.take().unwrap();
        let (send, lines) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if send.send(line).is_err() {
                    break;
                }
            }
        });
        let mut mcp = Mcp {
            child,
            stdin,
            lines,
            next_id: 0,
        };
        let init = mcp.request(
            "initialize",
            json!({"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "test", "version": "1"}}),
        );
        assert_eq!(
            init["result"]["serverInfo"]["name"], "azure-sessions-lsp",
            "{init}"
        );
        mcp.send(json!({"jsonrpc": "2.0", "method": "notifications/initialized"}));
        mcp
    }

    pub fn send(&mut self, message: Value) {
        writeln!(self.stdin, "{message}").unwrap();
        self.stdin.flush().unwrap();
    }

    /// Sends a request and waits for its answer (the whole message: `result` or `error`).
    pub fn request(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        self.send(json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}));
        loop {
            let line = self
                .lines
                .recv_timeout(Duration::from_secs(60))
                .expect("an answer within 60 s");
            let message: Value = serde_json::from_str(&line).expect("JSON on stdout");
            if message["id"] == json!(id) {
                return message;
            }
        }
    }

    pub fn call(&mut self, tool: &str, arguments: Value) -> Value {
        self.request("tools/call", json!({"name": tool, "arguments": arguments}))
    }
}

impl Drop for Mcp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The text of a tool result's text blocks, joined.
pub fn text(answer: &Value) -> String {
    answer["result"]["content"]
        .as_array()
        .unwrap_or_else(|| panic!("a tool result: {answer}"))
        .iter()
        .filter_map(|c| c["text"].as_str())
        .collect::<Vec<_>>()
        .join("\n")
}
