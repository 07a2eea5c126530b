//! Entra ID tokens for the session pool, through azure_identity, cached here.
//!
//! azure_identity's CLI credentials start `az`/`azd` on every call (about a second each), so
//! the token is cached until five minutes before it expires, fetched once however many runs
//! ask at the same moment, and dropped on a 401 so the next request gets a fresh one.

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use azure_core::credentials::TokenCredential;
use futures::future::{BoxFuture, FutureExt, Shared};
use time::OffsetDateTime;

/// The scope of the dynamic-sessions data plane (audience `https://dynamicsessions.io`).
pub const SCOPE: &str = "https://dynamicsessions.io/.default";

/// How long before expiry a cached token is replaced.
const REFRESH_MARGIN: time::Duration = time::Duration::minutes(5);

/// How long one credential may take (the CLI credentials have no timeout of their own); a slow
/// `az` (a proxy, a first sign-in) can be given longer with AZURE_SESSIONS_CREDENTIAL_TIMEOUT_SECONDS.
fn credential_timeout() -> Duration {
    let seconds = std::env::var("AZURE_SESSIONS_CREDENTIAL_TIMEOUT_SECONDS")
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
        .filter(|s| (1..=600).contains(s))
        .unwrap_or(30);
    Duration::from_secs(seconds)
}

/// The `auth` setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AuthMode {
    Auto,
    AzureCli,
    ManagedIdentity,
    None,
}

impl AuthMode {
    pub const NAMES: [&'static str; 4] = ["auto", "azure-cli", "managed-identity", "none"];

    pub fn parse(text: &str) -> Option<AuthMode> {
        match text {
            "auto" => Some(AuthMode::Auto),
            "azure-cli" => Some(AuthMode::AzureCli),
            "managed-identity" => Some(AuthMode::ManagedIdentity),
            "none" => Some(AuthMode::None),
            _ => None,
        }
    }
}

/// A bearer token. Its `Debug` never shows the secret.
#[derive(Clone)]
pub struct AccessToken {
    secret: Arc<str>,
    pub expires_on: OffsetDateTime,
}

impl AccessToken {
    pub fn new(secret: impl Into<Arc<str>>, expires_on: OffsetDateTime) -> Self {
        AccessToken {
            secret: secret.into(),
            expires_on,
        }
    }

    pub fn secret(&self) -> &str {
        &self.secret
    }

    fn is_fresh(&self) -> bool {
        self.expires_on - REFRESH_MARGIN > OffsetDateTime::now_utc()
    }
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccessToken")
            .field("secret", &"[redacted]")
            .field("expires_on", &self.expires_on)
            .finish()
    }
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum AuthError {
    #[error(
        "could not get an Azure token; tried: {tried}. Sign in with `az login` (or `azd auth login`), \
         or set AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET (or AZURE_FEDERATED_TOKEN_FILE)"
    )]
    NoCredential { tried: String },
    #[error("{0}")]
    Other(String),
}

/// Anything that can fetch a fresh token: a credential chain, or the editor (VS Code's account).
pub trait TokenSource: Send + Sync + 'static {
    fn fetch(&self) -> BoxFuture<'static, Result<AccessToken, AuthError>>;
}

type SharedFetch = Shared<BoxFuture<'static, Result<AccessToken, AuthError>>>;

enum CacheState {
    Empty,
    Ready(AccessToken),
    Fetching { generation: u64, fetch: SharedFetch },
}

/// Caches one token source's token; concurrent callers share one fetch.
pub struct TokenCache {
    source: Arc<dyn TokenSource>,
    state: Mutex<(CacheState, u64)>,
}

impl TokenCache {
    pub fn new(source: Arc<dyn TokenSource>) -> Self {
        TokenCache {
            source,
            state: Mutex::new((CacheState::Empty, 0)),
        }
    }

    /// A token valid for at least five more minutes.
    pub async fn token(&self) -> Result<AccessToken, AuthError> {
        let (generation, fetch) = {
            let mut guard = self.state.lock().unwrap_or_else(|p| p.into_inner());
            let (state, next_generation) = &mut *guard;
            match state {
                CacheState::Ready(token) if token.is_fresh() => return Ok(token.clone()),
                CacheState::Fetching { generation, fetch } => (*generation, fetch.clone()),
                _ => {
                    *next_generation += 1;
                    let fetch = self.source.fetch().shared();
                    *state = CacheState::Fetching {
                        generation: *next_generation,
                        fetch: fetch.clone(),
                    };
                    (*next_generation, fetch)
                }
            }
        };
        let outcome = fetch.await;
        let mut guard = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if matches!(&guard.0, CacheState::Fetching { generation: g, .. } if *g == generation) {
            guard.0 = match &outcome {
                Ok(token) => CacheState::Ready(token.clone()),
                Err(_) => CacheState::Empty,
            };
        }
        outcome
    }

    /// Drops the cached token after the pool rejected it (401), unless it was already replaced.
    pub fn invalidate(&self, rejected: &AccessToken) {
        let mut guard = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if let CacheState::Ready(token) = &guard.0
            && token.secret() == rejected.secret()
        {
            guard.0 = CacheState::Empty;
        }
    }
}

/// What a request authenticates with.
#[derive(Clone)]
pub enum Credentials {
    /// No `Authorization` header (`auth = "none"`).
    None,
    /// The local pool's key: sent only to a plain-http loopback endpoint.
    PoolKey(Arc<str>),
    /// An Entra (or editor) token: sent only over https.
    Bearer(Arc<TokenCache>),
}

impl Credentials {
    /// The credential chain for an `auth` mode, wrapped in a cache.
    pub fn for_mode(mode: AuthMode) -> Credentials {
        match mode {
            AuthMode::None => Credentials::None,
            mode => Credentials::Bearer(Arc::new(TokenCache::new(Arc::new(
                CredentialChain::for_mode(mode),
            )))),
        }
    }

    /// What a remote endpoint gets: over https, the token of `bearer`; over plain http (loopback
    /// only, which the setting checks) the key of the local pool on that port, or nothing; never
    /// a token.
    pub fn for_endpoint(
        endpoint: &reqwest::Url,
        bearer: impl FnOnce() -> Credentials,
    ) -> Credentials {
        if endpoint.scheme() == "https" {
            return bearer();
        }
        crate::pool::key::find_key(endpoint)
            .map(|key| Credentials::PoolKey(key.into()))
            .unwrap_or(Credentials::None)
    }

    pub async fn token(&self) -> Result<Option<AccessToken>, AuthError> {
        match self {
            Credentials::None | Credentials::PoolKey(_) => Ok(None),
            Credentials::Bearer(cache) => cache.token().await.map(Some),
        }
    }

    pub fn invalidate(&self, rejected: &AccessToken) {
        if let Credentials::Bearer(cache) = self {
            cache.invalidate(rejected);
        }
    }
}

/// azure_identity credentials tried in order; the first token wins.
pub struct CredentialChain {
    links: Vec<ChainLink>,
}

enum ChainLink {
    Ready(&'static str, Arc<dyn TokenCredential>),
    /// A credential that could not even be built (bad environment); reported when tried.
    Broken(&'static str, String),
    /// A credential left out, with why (reported so the user knows it was considered).
    Skipped(&'static str, &'static str),
}

impl CredentialChain {
    pub fn for_mode(mode: AuthMode) -> CredentialChain {
        let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        let mut links = Vec::new();
        let mut add = |name: &'static str, built: azure_core::Result<Arc<dyn TokenCredential>>| {
            links.push(match built {
                Ok(credential) => ChainLink::Ready(name, credential),
                Err(error) => ChainLink::Broken(name, first_line(&error.to_string())),
            });
        };
        if mode == AuthMode::Auto {
            let tenant_and_client =
                env("AZURE_TENANT_ID").is_some() && env("AZURE_CLIENT_ID").is_some();
            if tenant_and_client && env("AZURE_FEDERATED_TOKEN_FILE").is_some() {
                add(
                    "WorkloadIdentityCredential",
                    azure_identity::WorkloadIdentityCredential::new(None)
                        .map(|c| c as Arc<dyn TokenCredential>),
                );
            }
            if let (true, Some(secret)) = (tenant_and_client, env("AZURE_CLIENT_SECRET")) {
                let tenant = env("AZURE_TENANT_ID").unwrap_or_default();
                let client = env("AZURE_CLIENT_ID").unwrap_or_default();
                add(
                    "ClientSecretCredential",
                    azure_identity::ClientSecretCredential::new(
                        &tenant,
                        client,
                        secret.into(),
                        None,
                    )
                    .map(|c| c as Arc<dyn TokenCredential>),
                );
            }
        }
        if matches!(mode, AuthMode::Auto | AuthMode::AzureCli) {
            add(
                "AzureCliCredential",
                azure_identity::AzureCliCredential::new(Some(
                    azure_identity::AzureCliCredentialOptions {
                        executor: Some(Arc::new(KillOnDrop)),
                        ..Default::default()
                    },
                ))
                .map(|c| c as Arc<dyn TokenCredential>),
            );
        }
        if mode == AuthMode::Auto {
            add(
                "AzureDeveloperCliCredential",
                azure_identity::AzureDeveloperCliCredential::new(Some(
                    azure_identity::AzureDeveloperCliCredentialOptions {
                        executor: Some(Arc::new(KillOnDrop)),
                        ..Default::default()
                    },
                ))
                .map(|c| c as Arc<dyn TokenCredential>),
            );
        }
        if matches!(mode, AuthMode::Auto | AuthMode::ManagedIdentity) {
            let has_endpoint = env("IDENTITY_ENDPOINT").is_some() || env("MSI_ENDPOINT").is_some();
            // Off Azure the IMDS probe can stall for seconds; `auto` only tries it where an
            // endpoint is configured, `managed-identity` always does (the user asked for it).
            if has_endpoint || mode == AuthMode::ManagedIdentity {
                add(
                    "ManagedIdentityCredential",
                    azure_identity::ManagedIdentityCredential::new(None)
                        .map(|c| c as Arc<dyn TokenCredential>),
                );
            } else {
                links.push(ChainLink::Skipped(
                    "ManagedIdentityCredential",
                    "no IDENTITY_ENDPOINT or MSI_ENDPOINT",
                ));
            }
        }
        CredentialChain { links }
    }

    pub async fn get_token(&self) -> Result<AccessToken, AuthError> {
        let mut tried = Vec::new();
        for link in &self.links {
            match link {
                ChainLink::Ready(name, credential) => {
                    let limit = credential_timeout();
                    let attempt =
                        tokio::time::timeout(limit, credential.get_token(&[SCOPE], None)).await;
                    match attempt {
                        Ok(Ok(token)) => {
                            tracing::debug!(credential = name, "got a token");
                            return Ok(AccessToken::new(token.token.secret(), token.expires_on));
                        }
                        Ok(Err(error)) => {
                            let reason = first_line(&error.to_string());
                            tracing::debug!(credential = name, %reason, "credential failed");
                            tried.push(format!("{name} ({reason})"));
                        }
                        Err(_) => {
                            tried.push(format!("{name} (no answer within {} s)", limit.as_secs()))
                        }
                    }
                }
                ChainLink::Broken(name, reason) => tried.push(format!("{name} ({reason})")),
                ChainLink::Skipped(name, why) => tried.push(format!("{name} (skipped: {why})")),
            }
        }
        Err(AuthError::NoCredential {
            tried: tried.join("; "),
        })
    }
}

impl TokenSource for CredentialChain {
    fn fetch(&self) -> BoxFuture<'static, Result<AccessToken, AuthError>> {
        // The shared future must be 'static: run the chain on a clone of its links.
        let links: Vec<ChainLink> = self
            .links
            .iter()
            .map(|link| match link {
                ChainLink::Ready(n, c) => ChainLink::Ready(n, c.clone()),
                ChainLink::Broken(n, r) => ChainLink::Broken(n, r.clone()),
                ChainLink::Skipped(n, w) => ChainLink::Skipped(n, w),
            })
            .collect();
        async move { CredentialChain { links }.get_token().await }.boxed()
    }
}

/// Runs `az`/`azd` (through `/bin/sh -c`) in a process group of its own and kills the whole
/// group when the call is dropped: when the credential timeout fires, no hung CLI stays behind
/// (azure_identity's own executor leaves it running).
#[derive(Debug)]
struct KillOnDrop;

#[async_trait::async_trait]
impl azure_identity::Executor for KillOnDrop {
    async fn run(
        &self,
        program: &std::ffi::OsStr,
        args: &[&std::ffi::OsStr],
    ) -> std::io::Result<std::process::Output> {
        let mut cmd = tokio::process::Command::new(program);
        cmd.args(args)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .kill_on_drop(true);
        crate::platform::ProcessGroup::isolate(&mut cmd);
        let child = cmd.spawn()?;
        let mut group = GroupKiller(crate::platform::ProcessGroup::of_tokio(&child));
        let output = child.wait_with_output().await;
        // Finished: nothing to kill (on Windows, closing the job ends what the CLI left behind).
        group.0.take();
        output
    }
}

/// Runs a command-line tool (`az`) the way the credentials do: in a process group of its own,
/// with no stdin, ended with its children when it takes longer than the credential timeout
/// (AZURE_SESSIONS_CREDENTIAL_TIMEOUT_SECONDS, 30 s by default). The error says why in a line.
pub(crate) async fn run_cli(program: &str, args: &[&str]) -> Result<std::process::Output, String> {
    use azure_identity::Executor;
    let args: Vec<&std::ffi::OsStr> = args.iter().map(std::ffi::OsStr::new).collect();
    let limit = credential_timeout();
    match tokio::time::timeout(limit, KillOnDrop.run(std::ffi::OsStr::new(program), &args)).await {
        Ok(Ok(output)) => Ok(output),
        Ok(Err(error)) if error.kind() == std::io::ErrorKind::NotFound => {
            Err(format!("`{program}` is not on PATH"))
        }
        Ok(Err(error)) => Err(format!("`{program}` could not start: {error}")),
        Err(_) => Err(format!(
            "`{program}` did not answer within {} s",
            limit.as_secs()
        )),
    }
}

/// Kills a process group (a job object on Windows) when dropped (the future that waits on it
/// was abandoned).
struct GroupKiller(Option<crate::platform::ProcessGroup>);

impl Drop for GroupKiller {
    fn drop(&mut self) {
        if let Some(group) = &self.0 {
            group.kill();
        }
    }
}

/// Credential errors can be long (CLI output); the first meaningful line says enough, and
/// anything that looks like a bearer token is removed.
fn first_line(text: &str) -> String {
    let line = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("unknown error");
    let line = crate::sessions::error::redact_bearer(line);
    if line.chars().count() > 300 {
        format!("{}…", line.chars().take(300).collect::<String>())
    } else {
        line
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    struct CountingSource {
        calls: Arc<AtomicUsize>,
        lifetime: time::Duration,
    }

    impl TokenSource for CountingSource {
        fn fetch(&self) -> BoxFuture<'static, Result<AccessToken, AuthError>> {
            let calls = self.calls.clone();
            let lifetime = self.lifetime;
            async move {
                let n = calls.fetch_add(1, Ordering::SeqCst) + 1;
                tokio::time::sleep(Duration::from_millis(50)).await;
                Ok(AccessToken::new(
                    format!("token-{n}"),
                    OffsetDateTime::now_utc() + lifetime,
                ))
            }
            .boxed()
        }
    }

    #[tokio::test]
    async fn concurrent_callers_share_one_fetch() {
        let calls = Arc::new(AtomicUsize::new(0));
        let cache = Arc::new(TokenCache::new(Arc::new(CountingSource {
            calls: calls.clone(),
            lifetime: time::Duration::hours(1),
        })));
        let tasks: Vec<_> = (0..8)
            .map(|_| {
                let cache = cache.clone();
                tokio::spawn(async move { cache.token().await.map(|t| t.secret().to_owned()) })
            })
            .collect();
        for task in tasks {
            assert_eq!(task.await.unwrap().unwrap(), "token-1");
        }
        assert_eq!(cache.token().await.unwrap().secret(), "token-1");
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn expiring_tokens_are_refreshed_and_rejected_ones_dropped() {
        let calls = Arc::new(AtomicUsize::new(0));
        let cache = TokenCache::new(Arc::new(CountingSource {
            calls: calls.clone(),
            lifetime: time::Duration::minutes(4), // inside the five-minute margin
        }));
        assert_eq!(cache.token().await.unwrap().secret(), "token-1");
        assert_eq!(cache.token().await.unwrap().secret(), "token-2");

        let calls = Arc::new(AtomicUsize::new(0));
        let cache = TokenCache::new(Arc::new(CountingSource {
            calls: calls.clone(),
            lifetime: time::Duration::hours(1),
        }));
        let first = cache.token().await.unwrap();
        cache.invalidate(&first);
        assert_eq!(cache.token().await.unwrap().secret(), "token-2");
    }

    #[tokio::test]
    #[cfg(target_os = "linux")]
    async fn an_abandoned_cli_call_leaves_no_process_behind() {
        use azure_identity::Executor;
        let dir = tempfile::tempdir().unwrap();
        let pid_file = dir.path().join("pid");
        // Like azure_identity: a shell that starts the (hung) CLI as its child.
        let script = format!("sleep 100 & echo $! > '{}'; wait", pid_file.display());
        let args = [std::ffi::OsStr::new("-c"), std::ffi::OsStr::new(&script)];
        let call = KillOnDrop.run(std::ffi::OsStr::new("/bin/sh"), &args);
        assert!(
            tokio::time::timeout(Duration::from_millis(300), call)
                .await
                .is_err()
        );
        let pid = std::fs::read_to_string(&pid_file).unwrap();
        let proc = format!("/proc/{}/stat", pid.trim());
        let gone = async {
            while std::fs::read_to_string(&proc).is_ok_and(|stat| !stat.contains(") Z")) {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        };
        assert!(
            tokio::time::timeout(Duration::from_secs(3), gone)
                .await
                .is_ok(),
            "the CLI's child is still running"
        );
    }

    #[tokio::test]
    #[cfg(unix)]
    async fn a_finished_cli_call_gives_its_output() {
        use azure_identity::Executor;
        let args = [std::ffi::OsStr::new("-c"), std::ffi::OsStr::new("echo hi")];
        let output = KillOnDrop
            .run(std::ffi::OsStr::new("/bin/sh"), &args)
            .await
            .unwrap();
        assert_eq!(output.stdout, b"hi\n");
    }

    #[test]
    fn debug_never_shows_the_secret() {
        let token = AccessToken::new("very-secret", OffsetDateTime::now_utc());
        assert!(!format!("{token:?}").contains("very-secret"));
    }

    #[tokio::test]
    async fn a_failing_chain_lists_what_it_tried() {
        let chain = CredentialChain {
            links: vec![
                ChainLink::Broken("AzureCliCredential", "az not found on PATH".into()),
                ChainLink::Skipped(
                    "ManagedIdentityCredential",
                    "no IDENTITY_ENDPOINT or MSI_ENDPOINT",
                ),
            ],
        };
        let message = chain.get_token().await.unwrap_err().to_string();
        assert!(
            message.contains("AzureCliCredential (az not found on PATH)"),
            "{message}"
        );
        assert!(
            message.contains("ManagedIdentityCredential (skipped"),
            "{message}"
        );
        assert!(message.contains("az login"), "{message}");
    }
}
