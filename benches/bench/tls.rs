//! Rows 9: rows 1 and 2 over TLS, with connections and handshakes counted per client.

use serde_json::json;

use crate::Ctx;
use crate::harness::*;
use crate::overhead::{Targets, overhead_rows, per_run};
use crate::report::{ms, p50, p99, ratio, signed_ms, verdict};
use crate::tls_pool::{TestTls, TlsPool};

/// 9: rows 1 and 2 over TLS: an HTTPS fake pool on `localhost` with a certificate from a test
/// CA made for this run (ALPN h2 and http/1.1); the servers trust it through
/// `extraCaCertificates`, reqwest through `add_root_certificate`, LangChain (requests) through
/// `REQUESTS_CA_BUNDLE`. One instance of the pool per client, so that connections and
/// handshakes are counted per client; all answer the same bytes from the same thread.
pub async fn overhead_tls(ctx: &mut Ctx) {
    let tls = TestTls::new();
    let dir = tempfile::tempdir().expect("temp");
    let ca = tls.write_ca(dir.path()).to_string_lossy().into_owned();
    let start = || TlsPool::start(&ctx.pools, &tls, "1\n");
    let (p_ref, p_min, p_ed, p_leg) = (start(), start(), start(), start());
    let targets = Targets {
        reference: p_ref.endpoint(),
        minimal: p_min.endpoint(),
        editor: p_ed.endpoint(),
        legacy: p_leg.endpoint(),
        extra: json!({"extraCaCertificates": [ca]}),
    };
    let client = tls.reqwest_client();
    let pools = [&p_ref, &p_min, &p_ed, &p_leg];
    let counts = || {
        pools.iter().fold((0, 0, 0), |(posts, sessions, tcp), p| {
            (
                posts + p.executions(),
                sessions + p.pool.prewarms(),
                tcp + p.connections().0,
            )
        })
    };
    let m = per_run(ctx, &targets, &client, &counts).await;
    let (r50, r99) = (m.t_ref.p50(), m.t_ref.p99());
    let setup = "over TLS (HTTPS fake pool on `localhost`, test CA, ALPN h2 + http/1.1): ";
    overhead_rows(ctx, "9", setup, " over TLS", &m);
    let tls_cost = ctx
        .plain
        .editor
        .map(|plain| {
            format!(
                "TLS adds {} per run (p50 vs row 1)",
                signed_ms(m.t_ed.p50(), plain)
            )
        })
        .unwrap_or_default();
    ctx.report.row(
        "9",
        "editor-like client over TLS, total time per run",
        ms(m.t_ed.p50()),
        ms(m.t_ed.p99()),
        format!("{} / {}", ms(r50), ms(r99)),
        ratio(m.t_ed.p50(), r50),
        "",
        tls_cost,
    );
    ctx.report.note(format!(
        "Over TLS: {:.2} pool requests per run; {} requests that run no code (prewarm `HEAD`, `GET /session`) during the measured runs; the editor-like client got {:.2} `window/workDoneProgress/create` and {:.2} `workspace/codeLens/refresh` requests per run.",
        m.per_run_requests, m.extra_requests, m.editor_progress, m.editor_lens
    ));

    // Connections and handshakes per client, counted at the pool (warm-up runs included).
    let (mut tcps, mut handshakes, mut spread, mut sessions) = (vec![], vec![], vec![], vec![]);
    let (mut extra, mut failures) = (0, 0);
    for pool in [&p_min, &p_ed, &p_leg] {
        let (tcp, hs, resumed, failed) = pool.connections();
        extra += tcp.saturating_sub(1);
        failures += failed;
        tcps.push(tcp.to_string());
        handshakes.push(format!("{hs} ({}; {resumed} resumed)", pool.alpn()));
        spread.push(pool.per_connection());
        sessions.push(pool.pool.prewarms().to_string());
    }
    ctx.report.row(
        "9",
        "TLS connections at the fake pool: this project, servers for the minimal / editor-like / legacy-API client (TCP connections; TLS handshakes), from `initialize` on, warm-up included",
        format!("{} TCP", tcps.join(" / ")),
        format!("{} handshakes", handshakes.join(" / ")),
        format!(
            "requests per connection: {}; of which prewarm (`HEAD`, `GET /session`): {}",
            spread.join(" / "),
            sessions.join(" / ")
        ),
        "",
        "1 connection per server",
        verdict(extra == 0 && failures == 0, || {
            format!(
                "{extra} extra connection(s), opened at start-up ({} opened during the measured runs{}); see “Over TLS” below",
                m.new_connections,
                if failures > 0 { format!(", {failures} failed handshakes") } else { String::new() }
            )
        }),
    );
    let (tcp, hs, resumed, _) = p_ref.connections();
    ctx.report.row(
        "9",
        "TLS connections at the fake pool: reqwest keep-alive reference",
        format!("{tcp} TCP"),
        format!("{hs} handshakes ({}; {resumed} resumed)", p_ref.alpn()),
        format!("requests per connection: {}", p_ref.per_connection()),
        "",
        "",
        "",
    );

    // LangChain over TLS, and what a TLS connection costs Python, on a pool of its own.
    let lc_pool = TlsPool::start(&ctx.pools, &tls, "1\n");
    let probe_pool = TlsPool::start(&ctx.pools, &tls, "1\n");
    let probe = [
        "--tls-probe".to_owned(),
        format!("localhost:{}", probe_pool.pool.addr.port()),
        ctx.n(200, 20).to_string(),
    ];
    let env = [("REQUESTS_CA_BUNDLE", ca.as_str())];
    let counts = (ctx.n(1000, 100), ctx.n(50, 10));
    let Some(result) = langchain(ctx, &lc_pool.endpoint(), counts, &env, &probe).await else {
        langchain_skipped(ctx, "9", "LangChain / project ≥ 10× (p50)");
        return;
    };
    let invoke = samples_us(&result, "invoke_us");
    let execute = samples_us(&result, "execute_us");
    let handshake = samples_us(&result["probe"], "handshake_us");
    let context_ca = samples_us(&result["probe"], "context_ca_us");
    let context_certifi = samples_us(&result["probe"], "context_certifi_us");
    let (lc50, proj50) = (p50(&invoke), m.t_ed.p50());
    let times = lc50.as_secs_f64() / proj50.as_secs_f64();
    let lc_plain = ctx
        .plain
        .langchain
        .map(|plain| format!(", {} without TLS (row 2)", ms(plain)))
        .unwrap_or_default();
    let proj_plain = ctx
        .plain
        .editor
        .map(|plain| format!(", {} without TLS", ms(plain)))
        .unwrap_or_default();
    ctx.report.row(
        "9",
        format!("LangChain `SessionsPythonREPLTool.invoke` over TLS, {} runs (legacy API, `REQUESTS_CA_BUNDLE` = the test CA), vs this project over TLS (editor-like client)", invoke.len()),
        ms(lc50),
        ms(p99(&invoke)),
        format!("{} / {}", ms(proj50), ms(m.t_ed.p99())),
        format!("LangChain / project = {} (p50), {} (p99)", ratio(lc50, proj50), ratio(p99(&invoke), m.t_ed.p99())),
        "LangChain / project ≥ 10× (p50)",
        verdict(times >= 10.0, || format!(
            "{:.2}× (LangChain / project = {:.2}×, goal 10×): LangChain's run takes {}{lc_plain}: a new TCP connection and a full TLS handshake every run (that alone, in Python with the SSL context made once: {}) plus a new SSL context loaded per connection ({}); the project's run takes {}{proj_plain} (one handshake for all runs), so 10× would need LangChain at {} or more; see “Over TLS” below",
            10.0 - times,
            times,
            ms(lc50),
            ms(p50(&handshake)),
            ms(p50(&context_ca)),
            ms(proj50),
            ms(proj50 * 10),
        )),
    );
    ctx.report.row(
        "9",
        "LangChain `execute` over TLS (HTTP call only), vs the project over TLS on the same legacy API",
        ms(p50(&execute)),
        ms(p99(&execute)),
        format!("{} / {}", ms(m.t_leg.p50()), ms(m.t_leg.p99())),
        format!("{} (p50)", ratio(p50(&execute), m.t_leg.p50())),
        "",
        "",
    );
    let (tcp, hs, resumed, failed) = lc_pool.connections();
    let lc_runs = lc_pool.executions();
    ctx.report.row(
        "9",
        "TLS connections at the fake pool: LangChain (TCP connections; TLS handshakes)",
        format!("{tcp} TCP"),
        format!(
            "{hs} handshakes ({}; {resumed} resumed, {failed} failed)",
            lc_pool.alpn()
        ),
        format!("{lc_runs} executions"),
        format!(
            "{:.2} handshakes per execution",
            hs as f64 / lc_runs.max(1) as f64
        ),
        "",
        "",
    );
    ctx.report.row(
        "9",
        format!("Python alone (same interpreter and `ssl` module): TCP connect + TLS handshake + close to the fake pool, SSL context made once, {} connections", handshake.len()),
        ms(p50(&handshake)),
        ms(p99(&handshake)),
        "",
        "",
        "(no goal: the least LangChain pays per run for TLS)",
        "",
    );
    ctx.report.row(
        "9",
        "Python alone: an SSL context as urllib3 makes one for every new connection (`create_urllib3_context` + `load_verify_locations`), with the test CA (this row) / with certifi's bundle (what `verify=True` loads against real Azure)",
        ms(p50(&context_ca)),
        ms(p99(&context_ca)),
        format!("certifi: {} / {}", ms(p50(&context_certifi)), ms(p99(&context_certifi))),
        "",
        "",
        "",
    );

    // The same tool as it runs against real Azure: requests' default `verify=True` loads
    // certifi's bundle into a new SSL context for every connection. Here the test CA is appended
    // to that bundle, so each connection loads the same ~150 roots plus the test CA.
    let Some(certifi) = result["probe"]["certifi_path"].as_str() else {
        return;
    };
    let mut bundle = std::fs::read_to_string(certifi).expect("certifi's bundle");
    bundle.push('\n');
    bundle.push_str(&tls.ca_pem);
    let bundle_path = dir.path().join("certifi-and-bench-ca.pem");
    std::fs::write(&bundle_path, bundle).expect("write the bundle");
    let bundle_path = bundle_path.to_string_lossy().into_owned();
    let certifi_pool = TlsPool::start(&ctx.pools, &tls, "1\n");
    let env = [("REQUESTS_CA_BUNDLE", bundle_path.as_str())];
    let counts = (ctx.n(200, 20), ctx.n(10, 2));
    let Some(result) = langchain(ctx, &certifi_pool.endpoint(), counts, &env, &[]).await else {
        return;
    };
    let invoke = samples_us(&result, "invoke_us");
    let (tcp, hs, _, _) = certifi_pool.connections();
    ctx.report.row(
        "9",
        format!("LangChain `invoke` over TLS as against real Azure: test CA appended to certifi's bundle (what the default `verify=True` loads for every connection), {} runs, vs this project over TLS (editor-like client)", invoke.len()),
        ms(p50(&invoke)),
        ms(p99(&invoke)),
        format!("{} / {}", ms(proj50), ms(m.t_ed.p99())),
        format!(
            "LangChain / project = {} (p50), {} (p99)",
            ratio(p50(&invoke), proj50),
            ratio(p99(&invoke), m.t_ed.p99())
        ),
        "(no goal: context for the row above)",
        format!("{tcp} TCP connections, {hs} TLS handshakes for {} executions", certifi_pool.executions()),
    );
}
