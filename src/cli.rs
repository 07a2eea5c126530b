//! What the `run` and `doctor` subcommands share: the pool flags (each also an environment
//! variable), their mapping onto [`Settings`], and reaching the pool they name (starting the
//! local pool for `--endpoint local`).

use std::time::Duration;

use crate::auth::{AuthMode, Credentials};
use crate::doctor::Pool;
use crate::pool::{Language, LocalPool, PoolOptions};
use crate::sessions::{Api, HttpOptions, PoolTarget, SessionsClient};
use crate::settings::{self, Endpoint, Settings};

/// The flags that say which pool and how to reach it.
#[derive(clap::Args, Debug, Clone)]
pub struct PoolArgs {
    /// The pool management endpoint, or `local` for the built-in local pool.
    #[arg(long, env = "AZURE_SESSIONS_ENDPOINT", default_value = "")]
    pub endpoint: String,
    #[arg(long, env = "AZURE_SESSIONS_API", default_value = "executions", value_parser = Api::NAMES)]
    pub api: String,
    #[arg(long, env = "AZURE_SESSIONS_API_VERSION")]
    pub api_version: Option<String>,
    #[arg(long, env = "AZURE_SESSIONS_CUSTOM_PATH", default_value = settings::DEFAULT_CUSTOM_PATH)]
    pub custom_path: String,
    #[arg(long, env = "AZURE_SESSIONS_AUTH", default_value = "auto", value_parser = AuthMode::NAMES)]
    pub auth: String,
    /// The pool's name for the language: python or javascript (bash on a Shell pool), or any
    /// name a custom container knows (c++, rust, java, …). By default from the file's extension
    /// (python for `doctor` and standard input).
    #[arg(long, env = "AZURE_SESSIONS_LANGUAGE")]
    pub language: Option<String>,
    /// How long the run may take (1-3600). Azure ends code-interpreter runs at 220 s and
    /// Container Apps ingress at 240 s; longer runs are for custom containers and the local pool.
    #[arg(long, env = "AZURE_SESSIONS_TIMEOUT_SECONDS", default_value_t = settings::DEFAULT_TIMEOUT_SECONDS)]
    pub timeout_seconds: u64,
    /// How long to keep retrying while the pool answers 502, 503, 504 or 429 or refuses the
    /// connection (0-600).
    #[arg(long, env = "AZURE_SESSIONS_COLD_START_TIMEOUT_SECONDS", default_value_t = settings::DEFAULT_COLD_START_TIMEOUT_SECONDS)]
    pub cold_start_timeout_seconds: u64,
}

impl PoolArgs {
    /// The settings these flags mean. An endpoint that cannot be used is `Refused`, with why.
    pub fn settings(&self) -> Settings {
        Settings {
            endpoint: Endpoint::parse(&self.endpoint).unwrap_or_else(Endpoint::Refused),
            api: Api::parse(&self.api).unwrap_or(Api::Executions),
            api_version: self
                .api_version
                .as_deref()
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_owned),
            custom_path: self.custom_path.clone(),
            auth: AuthMode::parse(&self.auth).unwrap_or(AuthMode::Auto),
            timeout: Duration::from_secs(self.timeout_seconds.clamp(1, 3600)),
            cold_start_timeout: Duration::from_secs(self.cold_start_timeout_seconds.min(600)),
            ..Settings::default()
        }
    }
}

impl PoolArgs {
    /// The language sent: `--language` (a code-interpreter pool's aliases normalised), else the
    /// pool's name for `file`'s extension. Refused before any request when the pool cannot run
    /// it.
    pub fn language_for(&self, file: &str) -> Result<String, String> {
        use crate::languages;
        let api = Api::parse(&self.api).unwrap_or(Api::Executions);
        let (id, language) = match &self.language {
            Some(given) => {
                let given = given.trim().to_owned();
                let normalised = match (api, given.parse::<Language>()) {
                    (Api::Custom, _) | (_, Err(_)) => given.clone(),
                    (_, Ok(known)) => known.as_str().to_owned(),
                };
                (given, normalised)
            }
            None => {
                let id = languages::language_id("", file).to_owned();
                let language = languages::pool_language(&id, &languages::Overrides::new());
                (id, language)
            }
        };
        languages::check_runnable(api, &id, &language).map_err(|e| {
            e.replace("azureSessions.api \"custom\"", "--api custom")
                .replace("azureSessions.languages", "--language")
        })?;
        Ok(language)
    }
}

/// A pool reached from the command line; the local pool, when it was started, must be shut down.
pub struct Reached {
    pub pool: Pool,
    pub local: Option<LocalPool>,
}

/// Reaches the pool the settings name: starts the local pool for `local`; gives a token only
/// over https and a plain-http loopback pool its key (found by port) or nothing.
pub async fn reach(settings: &Settings, language: &str) -> Result<Reached, String> {
    let http = SessionsClient::new(&HttpOptions {
        proxy: Some(settings.proxy.clone()).filter(|p| !p.is_empty()),
        extra_ca_files: settings.extra_ca_certificates.clone(),
    })
    .map_err(|e| e.to_string())?;
    let (endpoint, local) = match &settings.endpoint {
        Endpoint::NotConfigured => {
            return Err(
                "no session pool is configured: pass --endpoint URL (the pool management endpoint) \
                 or --endpoint local, or set AZURE_SESSIONS_ENDPOINT"
                    .to_owned(),
            );
        }
        Endpoint::Refused(reason) => return Err(reason.clone()),
        Endpoint::Local => {
            let language = crate::languages::local_pool_language(settings.api, language)?;
            let pool = LocalPool::start(PoolOptions {
                language,
                max_timeout: Duration::from_secs(3600),
                ..PoolOptions::default()
            })
            .await
            .map_err(|e| format!("could not start the local pool: {e:#}"))?;
            (pool.endpoint(), Some(pool))
        }
        Endpoint::Remote(url) => (url.clone(), None),
    };
    let mut target = PoolTarget::new(
        &endpoint,
        settings.api,
        settings.api_version.as_deref(),
        &settings.custom_path,
    )
    .map_err(|e| e.to_string())?;
    target.custom_container = settings.custom_container;
    let credentials = match &local {
        Some(pool) => Credentials::PoolKey(pool.key().into()),
        None => {
            Credentials::for_endpoint(target.endpoint(), || Credentials::for_mode(settings.auth))
        }
    };
    Ok(Reached {
        pool: Pool {
            target,
            credentials,
            http,
            local: local.is_some(),
        },
        local,
    })
}
