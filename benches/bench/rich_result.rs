//! Row 13: a run whose result is a 1 MiB PNG (the image object Azure's Python pools return),
//! against the same run returning text: the time until the editor holds the `RunOutcome` whose
//! `displays` names the saved image (what the Results view and the hovers show), and the
//! server's memory for it.

use std::time::{Duration, Instant};

use axum::body::Bytes;
use base64::Engine as _;
use serde_json::json;

use crate::Ctx;
use crate::fake_pool::{FakePool, executions_answer};
use crate::harness::*;
use crate::report::{mib, ms, p50, verdict};

const IMAGE_BYTES: usize = 1 << 20;

/// 1 MiB that starts like a PNG and does not compress (as a real plot's pixels do not).
fn png_like() -> Vec<u8> {
    let mut bytes = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    while bytes.len() < IMAGE_BYTES {
        // xorshift64: deterministic noise.
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        bytes.extend_from_slice(&state.to_le_bytes());
    }
    bytes.truncate(IMAGE_BYTES);
    bytes
}

fn image_answer(png: &[u8]) -> Bytes {
    let base64 = base64::engine::general_purpose::STANDARD.encode(png);
    Bytes::from(
        json!({"id": "exec-1", "identifier": "x", "executionType": "Synchronous", "status": "Succeeded",
               "result": {"stdout": "", "stderr": "", "executionTimeInMilliseconds": 3,
                          "executionResult": {"type": "image", "format": "png", "base64_data": base64}}})
        .to_string(),
    )
}

/// 13: a 1 MiB PNG result against a text result.
pub async fn rich_result(ctx: &mut Ctx) {
    let runs = ctx.n(30, 5);
    let png = png_like();
    let text_pool = FakePool::start_answering(&ctx.pools, executions_answer("42\n"));
    let image_pool = FakePool::start_answering(&ctx.pools, image_answer(&png));
    let file = OneFile::new("rich", "figure\n");

    let text_lsp = file.editor(ctx, settings(&text_pool.endpoint())).await;
    let mut t_text = vec![];
    for _ in 0..runs {
        let t = Instant::now();
        let outcome = text_lsp.run_line(&file.uri, 0).await.expect("text run");
        t_text.push(t.elapsed());
        assert_eq!(outcome["stdout"], "42\n");
    }
    text_lsp.stop().await;

    let image_lsp = file.editor(ctx, settings(&image_pool.endpoint())).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (idle, _) = image_lsp.rss();
    let mut t_image = vec![];
    let mut saved_ok = true;
    let mut after_first = 0;
    for run in 0..runs {
        if run == 1 {
            tokio::time::sleep(Duration::from_millis(200)).await;
            after_first = image_lsp.rss().1.saturating_sub(idle);
        }
        let t = Instant::now();
        let outcome = image_lsp.run_line(&file.uri, 0).await.expect("image run");
        t_image.push(t.elapsed());
        let display = &outcome["displays"][0];
        let path = display["uri"]
            .as_str()
            .and_then(|uri| uri.strip_prefix("file://"))
            .map(str::to_owned);
        saved_ok &= display["mimeType"] == "image/png"
            && path.is_some_and(|p| std::fs::read(p).is_ok_and(|bytes| bytes == png));
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let (_, peak) = image_lsp.rss();
    image_lsp.stop().await;
    assert!(saved_ok, "every image run names a file holding the PNG");

    let extra = p50(&t_image).saturating_sub(p50(&t_text));
    let growth = peak.saturating_sub(idle);
    ctx.report.row(
        "13",
        format!("rich result: run → `RunOutcome` naming a saved 1 MiB PNG ({runs} runs) vs the same run returning text"),
        ms(p50(&t_image)),
        ms(*t_image.iter().max().unwrap()),
        format!("text run: {} / {}", ms(p50(&t_text)), ms(*t_text.iter().max().unwrap())),
        format!("+{} (p50)", ms(extra)),
        "< 100 ms over a text run (p50)",
        verdict(extra < Duration::from_millis(100), || {
            format!("by {}", ms(extra - Duration::from_millis(100)))
        }),
    );
    let limit = 4 * IMAGE_BYTES as u64;
    ctx.report.row(
        "13",
        "rich result: server peak RSS above idle for one image run (VmHWM − idle VmRSS)",
        mib(after_first),
        mib(after_first),
        format!("idle {}", mib(idle)),
        format!("{:.1}× image", after_first as f64 / IMAGE_BYTES as f64),
        format!("< 4× image ({})", mib(limit)),
        verdict(after_first < limit, || mib(after_first - limit)),
    );
    ctx.report.row(
        "13",
        format!("rich result: server peak RSS above idle after {runs} image runs in one session"),
        mib(growth),
        mib(growth),
        format!("idle {}", mib(idle)),
        format!("{:.1}× image", growth as f64 / IMAGE_BYTES as f64),
        "",
        "",
    );
}
