//! `doctor`: checks a pool step by step and says, for each step, that it works or what to do.
//!
//! In order: the endpoint's form and the pool's kind, DNS, the connection (TLS, with the
//! certificate's issuer and expiry, and the proxy), the token (audience, expiry, identity; never
//! the token itself) or the local pool's key, the role (403), a one-line run in a session of the
//! doctor's own with its cold-start time, for a custom container the cause of a 502 that outlasts
//! the cold-start budget, and the session ended afterwards. A check that depends on one that
//! failed is skipped, saying why. The report is data: the CLI prints it as text or JSON, the
//! language server returns it from `azure-sessions.doctor`. Nothing here knows LSP.

mod cold_start;
mod container;
mod endpoint;
mod network;
mod report;
mod run;
mod token;
mod x509;

pub use report::{Check, Report, Status};
pub use run::one_liner;
pub use token::{Claims, claims};

use crate::auth::Credentials;
use crate::sessions::{HttpOptions, PoolTarget, SessionsClient};
use crate::settings::{Endpoint, Settings};

/// A pool resolved from the settings, as a run would reach it.
pub struct Pool {
    pub target: PoolTarget,
    pub credentials: Credentials,
    pub http: SessionsClient,
    /// The built-in local pool (`endpoint = "local"`), started in this process.
    pub local: bool,
}

/// What the doctor checks: the settings, the language of the one-line run, and the pool they
/// resolve to (or why they do not).
pub struct Input {
    pub settings: Settings,
    pub language: String,
    pub pool: Result<Pool, String>,
}

/// Runs every check, in order.
pub async fn diagnose(input: &Input) -> Report {
    let label = match &input.settings.endpoint {
        Endpoint::NotConfigured | Endpoint::Refused(_) => String::new(),
        Endpoint::Local => "local".to_owned(),
        Endpoint::Remote(url) => crate::sessions::without_credentials(url),
    };
    let mut report = Report::new(label);
    let Some(pool) = endpoint::check(&mut report, input) else {
        let rest: &[&str] = match input.settings.endpoint {
            Endpoint::Local => &["Run", "Cold start"],
            _ => &["DNS", "TLS", "Token", "Role", "Run", "Cold start"],
        };
        report.skip_all(rest, "there is no usable endpoint");
        return report;
    };
    if pool.local {
        run::check(&mut report, input, pool).await;
        return report;
    }
    let options = HttpOptions {
        proxy: Some(input.settings.proxy.clone()).filter(|p| !p.trim().is_empty()),
        extra_ca_files: input.settings.extra_ca_certificates.clone(),
    };
    let https = pool.target.endpoint().scheme() == "https";
    let resolved = network::dns(&mut report, pool, &options).await;
    let reached = if resolved {
        network::reach(&mut report, pool, &options).await
    } else {
        let name = network::connection_name(pool.target.endpoint());
        report.skip(name, "the host does not resolve");
        false
    };
    let mut secret = None;
    let credential = if https {
        match token::check(&mut report, &pool.credentials).await {
            Ok(token) => {
                secret = token;
                true
            }
            Err(()) => false,
        }
    } else {
        key(&mut report, pool);
        true
    };
    if reached && credential {
        run::check(&mut report, input, pool).await;
    } else {
        let why = if reached {
            "there is no usable token"
        } else {
            "the pool cannot be reached"
        };
        let rest: &[&str] = if https {
            &["Role", "Run", "Cold start"]
        } else {
            &["Run", "Cold start"]
        };
        report.skip_all(rest, why);
    }
    if let Some(token) = secret {
        report.scrub(token.secret());
    }
    report
}

/// A plain-http loopback pool gets the key of a local pool on that port, or nothing.
fn key(report: &mut Report, pool: &Pool) {
    let port = pool
        .target
        .endpoint()
        .port_or_known_default()
        .map(|p| p.to_string())
        .unwrap_or_else(|| "?".to_owned());
    match pool.credentials {
        Credentials::PoolKey(_) => report.ok(
            "Key",
            format!(
                "the key of the local pool on port {port} is sent (from AZURE_SESSIONS_POOL_KEY or \
                 its key file); never an Azure token over plain http"
            ),
        ),
        _ => report.ok(
            "Key",
            format!(
                "no key is sent (none found for port {port}); Azure tokens never go over plain http"
            ),
        ),
    }
}
