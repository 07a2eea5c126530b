//! Row 12: an agent's `run_code` through `azure-sessions-lsp mcp` and the editor's language
//! server (MCP over stdio, then the agent socket), against the same run from the editor, on an
//! instant pool. What the agent path adds: the MCP hop, the socket hop and the result's
//! conversion to MCP content.

use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::Command;

use crate::Ctx;
use crate::fake_pool::FakePool;
use crate::harness::*;
use crate::report::{Rounds, ms, signed_ms, verdict};

struct Agent {
    child: tokio::process::Child,
    stdin: tokio::process::ChildStdin,
    lines: tokio::io::Lines<BufReader<tokio::process::ChildStdout>>,
    next_id: u64,
}

impl Agent {
    async fn request(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        let mut line =
            json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}).to_string();
        line.push('\n');
        self.stdin.write_all(line.as_bytes()).await.expect("write");
        loop {
            let line = tokio::time::timeout(crate::WAIT, self.lines.next_line())
                .await
                .expect("an MCP answer in time")
                .expect("read")
                .expect("the MCP server is alive");
            let message: Value = serde_json::from_str(&line).expect("JSON");
            if message["id"] == json!(id) {
                return message;
            }
        }
    }
}

pub async fn mcp_overhead(ctx: &mut Ctx) {
    let pool = FakePool::start(&ctx.pools, "1\n", Duration::ZERO, false);
    let file = OneFile::new("project", "print(1)\n");
    let lsp = file.editor(ctx, settings(&pool.endpoint())).await;
    let mut child = Command::new(&ctx.bin)
        .args(["mcp", "--workspace"])
        .arg(&file.folders[0])
        .env("XDG_STATE_HOME", lsp.state_dir())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn mcp");
    let mut agent = Agent {
        stdin: child.stdin.take().unwrap(),
        lines: BufReader::new(child.stdout.take().unwrap()).lines(),
        child,
        next_id: 0,
    };
    agent
        .request(
            "initialize",
            json!({"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "bench", "version": "1"}}),
        )
        .await;
    agent
        .stdin
        .write_all(b"{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}\n")
        .await
        .unwrap();
    let call = json!({"name": "run_code", "arguments": {"code": "print(1)"}});
    let info = agent
        .request(
            "tools/call",
            json!({"name": "session_info", "arguments": {}}),
        )
        .await;
    assert!(
        info.to_string().contains("sharedWith\\\": \\\"editor"),
        "the agent does not go through the editor: {info}"
    );

    let runs = ctx.n(1000, 100);
    let warmup = ctx.n(50, 10);
    for _ in 0..warmup {
        check_outcome(&lsp.run_line(&file.uri, 0).await, "1\n");
        let answer = agent.request("tools/call", call.clone()).await;
        assert_eq!(
            answer["result"]["content"][0]["text"], "stdout:\n1\n",
            "{answer}"
        );
    }
    let rounds = ctx.n(3, 1);
    let (mut r_editor, mut r_agent) = (vec![], vec![]);
    for _ in 0..rounds {
        let (mut editor, mut agent_times) = (Vec::with_capacity(runs), Vec::with_capacity(runs));
        for _ in 0..runs {
            let started = Instant::now();
            check_outcome(&lsp.run_line(&file.uri, 0).await, "1\n");
            editor.push(started.elapsed());
            let started = Instant::now();
            let answer = agent.request("tools/call", call.clone()).await;
            agent_times.push(started.elapsed());
            assert_eq!(answer["result"]["isError"], false, "{answer}");
        }
        r_editor.push(editor);
        r_agent.push(agent_times);
    }
    let (t_editor, t_agent) = (Rounds(r_editor), Rounds(r_agent));
    let added = t_agent.p50().saturating_sub(t_editor.p50());
    ctx.report.row(
        "12",
        format!(
            "agent `run_code` through `mcp` → editor's server (MCP stdio + agent socket), {rounds} × {runs} runs, vs the same run from the editor, instant pool"
        ),
        ms(t_agent.p50()),
        ms(t_agent.p99()),
        format!("{} / {}", ms(t_editor.p50()), ms(t_editor.p99())),
        signed_ms(t_agent.p50(), t_editor.p50()),
        "adds < 1 ms p50",
        verdict(added < Duration::from_millis(1), || {
            format!("by {}", ms(added.saturating_sub(Duration::from_millis(1))))
        }),
    );
    let _ = agent.child.kill().await;
    lsp.stop().await;
}
