//! Long-lived things shared by all runs: the one HTTP client, cached tokens (from a credential
//! chain or from the editor), local pools, identifiers; and where a run goes.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use tokio::sync::OnceCell;

use super::protocol::{GetAccessToken, GetAccessTokenParams};
use super::{Inner, lock};
use crate::auth::{AuthMode, Credentials, TokenCache};
use crate::identity::IdentityStore;
use crate::pool::{Language, LocalPool, PoolOptions};
use crate::sessions::{HttpOptions, PoolTarget, SessionsClient, SessionsError};
use crate::settings::{Endpoint, Settings};

/// Long-lived things shared by all runs: the HTTP client, tokens, local pools, identifiers.
pub struct Runtime {
    state_dir: PathBuf,
    identity: OnceLock<Result<IdentityStore, String>>,
    http: Mutex<Option<(HttpOptions, SessionsClient)>>,
    credentials: Mutex<HashMap<AuthMode, Credentials>>,
    editor_credentials: Mutex<Option<Credentials>>,
    local_pools: Mutex<HashMap<&'static str, Arc<OnceCell<LocalPool>>>>,
}

impl Runtime {
    pub fn new(state_dir: PathBuf) -> Runtime {
        Runtime {
            state_dir,
            identity: OnceLock::new(),
            http: Mutex::new(None),
            credentials: Mutex::default(),
            editor_credentials: Mutex::new(None),
            local_pools: Mutex::default(),
        }
    }

    /// Where identifiers' secret lives (and, without `XDG_RUNTIME_DIR`, the agent sockets).
    pub fn state_dir(&self) -> &std::path::Path {
        &self.state_dir
    }

    pub fn identity(&self) -> Result<&IdentityStore, String> {
        self.identity
            .get_or_init(|| {
                IdentityStore::open(&self.state_dir).map_err(|e| {
                    format!(
                        "could not open the state directory {} for session identifiers: {e}",
                        self.state_dir.display()
                    )
                })
            })
            .as_ref()
            .map_err(Clone::clone)
    }

    /// The one HTTP client, rebuilt only when proxy or certificate settings change.
    pub(super) fn http(&self, settings: &Settings) -> Result<SessionsClient, SessionsError> {
        let options = HttpOptions {
            proxy: Some(settings.proxy.clone()).filter(|p| !p.is_empty()),
            extra_ca_files: settings.extra_ca_certificates.clone(),
        };
        let mut http = lock(&self.http);
        if let Some((current, client)) = http.as_ref()
            && *current == options
        {
            return Ok(client.clone());
        }
        let client = SessionsClient::new(&options)?;
        *http = Some((options, client.clone()));
        Ok(client)
    }

    pub(super) fn credentials(
        &self,
        mode: AuthMode,
        editor: Option<&tower_lsp_server::Client>,
    ) -> Credentials {
        if mode == AuthMode::None {
            return Credentials::None;
        }
        if let Some(client) = editor {
            return lock(&self.editor_credentials)
                .get_or_insert_with(|| {
                    Credentials::Bearer(Arc::new(TokenCache::new(Arc::new(EditorTokens(
                        client.clone(),
                    )))))
                })
                .clone();
        }
        lock(&self.credentials)
            .entry(mode)
            .or_insert_with(|| Credentials::for_mode(mode))
            .clone()
    }

    /// The endpoint and key of the local pool for a language, started on first use.
    pub(super) async fn local_pool(&self, language: Language) -> Result<(String, String), String> {
        let cell = lock(&self.local_pools)
            .entry(language.as_str())
            .or_default()
            .clone();
        let pool = cell
            .get_or_try_init(|| async {
                LocalPool::start(PoolOptions {
                    language,
                    max_timeout: Duration::from_secs(3600),
                    ..PoolOptions::default()
                })
                .await
            })
            .await
            .map_err(|e| format!("could not start the local pool: {e:#}"))?;
        Ok((pool.endpoint(), pool.key().to_owned()))
    }

    /// The languages whose local pool has started.
    pub(super) fn started_local_languages(&self) -> Vec<String> {
        lock(&self.local_pools)
            .iter()
            .filter(|(_, pool)| pool.initialized())
            .map(|(language, _)| (*language).to_owned())
            .collect()
    }

    pub async fn shutdown(&self) {
        let pools: Vec<Arc<OnceCell<LocalPool>>> =
            lock(&self.local_pools).drain().map(|(_, p)| p).collect();
        for pool in pools {
            if let Ok(cell) = Arc::try_unwrap(pool)
                && let Some(pool) = cell.into_inner()
            {
                pool.shutdown().await;
            }
        }
    }
}

/// Tokens from the editor (VS Code's Microsoft account), through `azure-sessions/getAccessToken`.
struct EditorTokens(tower_lsp_server::Client);

impl crate::auth::TokenSource for EditorTokens {
    fn fetch(
        &self,
    ) -> futures::future::BoxFuture<'static, Result<crate::auth::AccessToken, crate::auth::AuthError>>
    {
        let client = self.0.clone();
        Box::pin(async move {
            let params = GetAccessTokenParams {
                scopes: vec![crate::auth::SCOPE.to_owned()],
            };
            let answer = tokio::time::timeout(
                Duration::from_secs(120),
                client.send_request::<GetAccessToken>(params),
            )
            .await
            .map_err(|_| {
                crate::auth::AuthError::Other(
                    "the editor did not hand over a token within 120 s".into(),
                )
            })?
            .map_err(|e| {
                crate::auth::AuthError::Other(format!(
                    "the editor could not sign in: {}",
                    e.message
                ))
            })?;
            let expires = time::OffsetDateTime::from_unix_timestamp(answer.expires_on)
                .unwrap_or_else(|_| time::OffsetDateTime::now_utc() + time::Duration::minutes(10));
            Ok(crate::auth::AccessToken::new(answer.token, expires))
        })
    }
}

/// Where a run goes: the pool, how to authenticate, and how to name it.
#[derive(Clone)]
pub(super) struct Resolved {
    pub target: PoolTarget,
    pub credentials: Credentials,
    /// The endpoint's host, or "local pool".
    pub label: String,
    pub http: SessionsClient,
}

impl Inner {
    /// Resolves where to send and how to authenticate.
    pub(super) async fn resolve(
        &self,
        settings: &Settings,
        language: &str,
    ) -> Result<Resolved, String> {
        let http = self.runtime.http(settings).map_err(|e| e.to_string())?;
        let (endpoint, credentials, label) = match &settings.endpoint {
            Endpoint::NotConfigured => return Err(SessionsError::NotConfigured.to_string()),
            Endpoint::Refused(reason) => return Err(reason.clone()),
            Endpoint::Local => {
                let language = crate::languages::local_pool_language(settings.api, language)?;
                let (endpoint, key) = self.runtime.local_pool(language).await?;
                (
                    endpoint,
                    Credentials::PoolKey(key.into()),
                    "local pool".to_owned(),
                )
            }
            Endpoint::Remote(url) => {
                let credentials = match reqwest::Url::parse(url) {
                    Ok(parsed) => Credentials::for_endpoint(&parsed, || {
                        let editor = lock(&self.config)
                            .client_tokens
                            .then(|| self.client.clone());
                        self.runtime.credentials(settings.auth, editor.as_ref())
                    }),
                    // PoolTarget::new below names what is wrong with it.
                    Err(_) => Credentials::None,
                };
                (url.clone(), credentials, String::new())
            }
        };
        let mut target = PoolTarget::new(
            &endpoint,
            settings.api,
            settings.api_version.as_deref(),
            &settings.custom_path,
        )
        .map_err(|e| e.to_string())?;
        target.custom_container = settings.custom_container;
        let label = if label.is_empty() {
            target.host().to_owned()
        } else {
            label
        };
        Ok(Resolved {
            target,
            credentials,
            label,
            http,
        })
    }
}
