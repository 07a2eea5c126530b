//! The fault-injection suite: the real binary, at RUST_LOG=trace, against a misbehaving pool and
//! bad editor input. Every case must leave the server up, lose nothing, run nothing twice, say
//! what happened, and never show the token. It writes docs/reliability.md from what it saw.

#[path = "../common/mod.rs"]
mod common;

mod bad_input;
mod local_pool;
mod pool_faults;
mod report;
mod secrets;
mod security;
mod security_tokens;
mod soak;
mod support;
mod transport;

use support::environment;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fault_suite() {
    let env = environment();
    let mut rows = Vec::new();

    // ── The pool misbehaves ──
    rows.extend(pool_faults::pool_fault_cases(&env).await);

    // ── The editor sends bad input ──
    rows.extend(bad_input::bad_input_cases(&env).await);

    // ── The local pool is pushed around ──
    rows.extend(local_pool::local_pool_cases(&env).await);

    // ── Secrets and permissions ──
    rows.extend(secrets::secret_cases(&env).await);

    // ── Attacks (the Security section) ──
    let mut attacks = Vec::new();
    attacks.extend(security::security_attacks(&env).await);
    attacks.extend(transport::transport_attacks(&env).await);

    // ── Soak ──
    let soak = soak::soak(&env).await;

    report::write_report(&rows, &attacks, &soak);
    let failures: Vec<String> = rows
        .iter()
        .filter_map(|r| r.failure.as_ref().map(|f| format!("{}: {f}", r.case)))
        .chain(
            attacks
                .iter()
                .filter_map(|a| a.failure.as_ref().map(|f| format!("{}: {f}", a.attack))),
        )
        .chain(soak.failure.clone())
        .collect();
    assert!(failures.is_empty(), "{failures:#?}");
}

/// The transport's cases alone (`cargo test --test faults transport_only`): quicker than the
/// whole suite, and they do not write the report.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transport_only() {
    let env = environment();
    let failures: Vec<String> = transport::transport_attacks(&env)
        .await
        .into_iter()
        .inspect(|a| eprintln!("[faults] {}: {}", a.attack, a.happened))
        .filter_map(|a| a.failure.map(|f| format!("{}: {f}", a.attack)))
        .collect();
    assert!(failures.is_empty(), "{failures:#?}");
}
