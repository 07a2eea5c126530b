//! The dynamic-sessions data-plane client. It knows nothing of LSP: the language server and
//! the CLI both drive it.

mod answer_errors;
mod client;
pub mod displays;
pub mod error;
mod files;
mod network;
pub mod piston;
mod polling;
mod probe;
pub mod request_body;
pub mod response;
mod retry;
mod salvage;
mod session_calls;

use std::net::IpAddr;
use std::time::Duration;

pub use client::{HttpOptions, RetryNotice, SessionsClient};
pub use error::SessionsError;
pub use network::{ProxyRoute, proxy_route};
pub use probe::Probe;
use reqwest::Url;
pub use response::{Execution, ExecutionStatus, RemoteFile, SessionDescription};

/// Which wire contract the pool speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Api {
    /// `POST {endpoint}/executions` (2024-10-02-preview and later; flat body).
    Executions,
    /// `POST {endpoint}/code/execute` (2024-02-02-preview; `properties` envelope).
    Legacy,
    /// A custom-container pool: `POST {endpoint}/{customPath}` with `{"properties":{"code","stdin"}}`.
    Custom,
}

impl Api {
    pub const NAMES: [&'static str; 3] = ["executions", "legacy", "custom"];

    pub fn parse(text: &str) -> Option<Api> {
        match text {
            "executions" => Some(Api::Executions),
            "legacy" => Some(Api::Legacy),
            "custom" => Some(Api::Custom),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Api::Executions => "executions",
            Api::Legacy => "legacy",
            Api::Custom => "custom",
        }
    }

    /// The `api-version` sent when the setting is empty.
    pub fn default_version(self) -> Option<&'static str> {
        match self {
            Api::Executions => Some(EXECUTIONS_API_VERSION),
            Api::Legacy => Some(LEGACY_API_VERSION),
            Api::Custom => None,
        }
    }
}

pub const EXECUTIONS_API_VERSION: &str = "2025-10-02-preview";
pub const LEGACY_API_VERSION: &str = "2024-02-02-preview";
/// The first version with `GET`/`DELETE /session`; used for session calls on legacy pools too.
const SESSION_API_VERSION: &str = "2025-10-02-preview";

/// Where and how to reach one pool.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolTarget {
    endpoint: Url,
    pub api: Api,
    /// Set by `azureSessions.poolType`: `Some(true)` custom container, `Some(false)` code
    /// interpreter, `None` from the api and host.
    pub custom_container: Option<bool>,
    pub api_version: Option<String>,
    pub custom_path: String,
}

impl PoolTarget {
    /// Validates the endpoint: `https://`, or `http://` to a loopback address only.
    pub fn new(
        endpoint: &str,
        api: Api,
        api_version: Option<&str>,
        custom_path: &str,
    ) -> Result<PoolTarget, SessionsError> {
        let endpoint = endpoint.trim();
        if endpoint.is_empty() {
            return Err(SessionsError::NotConfigured);
        }
        let url = Url::parse(endpoint).map_err(|e| SessionsError::InvalidEndpoint {
            endpoint: without_credentials(endpoint),
            reason: e.to_string(),
        })?;
        let host = url.host_str().unwrap_or_default().to_owned();
        match url.scheme() {
            "https" => {}
            "http" if is_loopback_host(&host) => {}
            "http" => {
                return Err(SessionsError::InsecureEndpoint {
                    endpoint: without_credentials(endpoint),
                });
            }
            other => {
                return Err(SessionsError::InvalidEndpoint {
                    endpoint: without_credentials(endpoint),
                    reason: format!("the scheme must be https, not {other}"),
                });
            }
        }
        if url.cannot_be_a_base() || host.is_empty() {
            return Err(SessionsError::InvalidEndpoint {
                endpoint: without_credentials(endpoint),
                reason: "it has no host".to_owned(),
            });
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(SessionsError::InvalidEndpoint {
                endpoint: without_credentials(endpoint),
                reason: "credentials do not belong in the endpoint URL".to_owned(),
            });
        }
        let api_version = api_version
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
            .or_else(|| api.default_version().map(str::to_owned));
        Ok(PoolTarget {
            endpoint: url,
            api,
            custom_container: None,
            api_version,
            custom_path: custom_path.to_owned(),
        })
    }

    pub fn endpoint(&self) -> &Url {
        &self.endpoint
    }

    /// A custom-container pool: `api = custom`, a `*.azurecontainerapps.io` endpoint (where
    /// custom-container pools live), or `poolType` says so.
    pub fn is_custom_container(&self) -> bool {
        self.custom_container.unwrap_or_else(|| {
            self.api == Api::Custom
                || self
                    .host()
                    .to_ascii_lowercase()
                    .ends_with(".azurecontainerapps.io")
        })
    }

    /// The endpoint's host, for messages and transcripts.
    pub fn host(&self) -> &str {
        self.endpoint.host_str().unwrap_or("?")
    }

    /// `{endpoint}/{segments…}?api-version=…&identifier=…`, every part percent-encoded.
    pub(super) fn url(
        &self,
        segments: &[&str],
        api_version: Option<&str>,
        identifier: Option<&str>,
    ) -> Url {
        let mut url = self.endpoint.clone();
        url.set_query(None);
        url.set_fragment(None);
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty();
            for segment in segments.iter().filter(|s| !s.is_empty()) {
                path.push(segment);
            }
        }
        {
            let mut query = url.query_pairs_mut();
            if let Some(version) = api_version {
                query.append_pair("api-version", version);
            }
            if let Some(identifier) = identifier {
                query.append_pair("identifier", identifier);
            }
        }
        if url.query() == Some("") {
            url.set_query(None);
        }
        url
    }

    fn execute_url(&self, identifier: &str, language: &str) -> Url {
        match self.api {
            Api::Executions => self.url(
                &["executions"],
                self.api_version.as_deref(),
                Some(identifier),
            ),
            Api::Legacy => self.url(
                &["code", "execute"],
                self.api_version.as_deref(),
                Some(identifier),
            ),
            Api::Custom => {
                let path = self.custom_path.replace("{language}", language);
                let segments: Vec<&str> = path.split('/').collect();
                self.url(&segments, self.api_version.as_deref(), Some(identifier))
            }
        }
    }

    fn session_api_version(&self) -> &str {
        match (self.api, self.api_version.as_deref()) {
            // Versions before 2025-02-02-preview have no session routes.
            (Api::Executions, Some(v)) if v >= "2025-02-02" => v,
            _ => SESSION_API_VERSION,
        }
    }
}

/// An endpoint as it may be shown: any user name or password written into it is left out.
pub fn without_credentials(endpoint: &str) -> String {
    if let Ok(mut url) = Url::parse(endpoint) {
        if !url.username().is_empty() || url.password().is_some() {
            let _ = url.set_username("");
            let _ = url.set_password(None);
        }
        return url.to_string();
    }
    // Not a URL: still drop anything between "://" and an "@" before the path.
    match endpoint.split_once("://") {
        Some((scheme, rest)) => {
            let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
            match rest[..authority_end].rfind('@') {
                Some(at) => format!("{scheme}://{}", &rest[at + 1..]),
                None => endpoint.to_owned(),
            }
        }
        None => endpoint.to_owned(),
    }
}

/// Loopback hosts: `localhost`, 127.0.0.0/8 and ::1.
pub fn is_loopback_host(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// One execution to send.
#[derive(Debug, Clone)]
pub struct ExecuteRequest<'a> {
    pub identifier: &'a str,
    pub code: &'a str,
    /// The language id (`python`, `javascript`), used by custom paths like `{language}/execute`.
    pub language: &'a str,
    pub stdin: Option<&'a str>,
    /// How long the execution may take (sent as `timeoutInSeconds`; the HTTP timeout adds a margin).
    pub timeout: Duration,
    /// How long to keep retrying while the pool is not ready (502/503/504, refused, 429).
    pub cold_start_budget: Duration,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(endpoint: &str, api: Api) -> PoolTarget {
        PoolTarget::new(endpoint, api, None, "{language}/execute").expect("valid")
    }

    #[test]
    fn executions_url_has_version_and_encoded_identifier() {
        let t = target(
            "https://eastus.dynamicsessions.io/subscriptions/s/resourceGroups/g/sessionPools/p/",
            Api::Executions,
        );
        let url = t.execute_url("a b&c#d%e+f", "python");
        assert_eq!(
            url.as_str(),
            "https://eastus.dynamicsessions.io/subscriptions/s/resourceGroups/g/sessionPools/p/executions?api-version=2025-10-02-preview&identifier=a+b%26c%23d%25e%2Bf"
        );
    }

    #[test]
    fn legacy_and_custom_urls() {
        let t = target("https://pool.example.io", Api::Legacy);
        assert_eq!(
            t.execute_url("id-1234", "python").as_str(),
            "https://pool.example.io/code/execute?api-version=2024-02-02-preview&identifier=id-1234"
        );
        let t = target("https://pool.env.eastus.azurecontainerapps.io", Api::Custom);
        assert_eq!(
            t.execute_url("id-1234", "javascript").as_str(),
            "https://pool.env.eastus.azurecontainerapps.io/javascript/execute?identifier=id-1234"
        );
    }

    #[test]
    fn file_names_are_path_encoded() {
        let t = target("https://pool.example.io", Api::Executions);
        let url = t.url(
            &["files", "a b/../c.txt", "content"],
            Some("v"),
            Some("id-1234"),
        );
        assert_eq!(url.path(), "/files/a%20b%2F..%2Fc.txt/content");
    }

    #[test]
    fn plain_http_only_to_loopback() {
        assert!(PoolTarget::new("http://127.0.0.1:8080", Api::Executions, None, "").is_ok());
        assert!(PoolTarget::new("http://localhost:8080", Api::Executions, None, "").is_ok());
        assert!(PoolTarget::new("http://[::1]:8080", Api::Executions, None, "").is_ok());
        assert!(matches!(
            PoolTarget::new("http://pool.example.io", Api::Executions, None, ""),
            Err(SessionsError::InsecureEndpoint { .. })
        ));
        assert!(matches!(
            PoolTarget::new("http://10.0.0.1", Api::Executions, None, ""),
            Err(SessionsError::InsecureEndpoint { .. })
        ));
        assert!(matches!(
            PoolTarget::new("", Api::Executions, None, ""),
            Err(SessionsError::NotConfigured)
        ));
        assert!(matches!(
            PoolTarget::new("ftp://x", Api::Executions, None, ""),
            Err(SessionsError::InvalidEndpoint { .. })
        ));
        assert!(matches!(
            PoolTarget::new("not a url", Api::Executions, None, ""),
            Err(SessionsError::InvalidEndpoint { .. })
        ));
    }

    #[test]
    fn api_version_defaults_per_api() {
        assert_eq!(
            target("https://p.io", Api::Executions)
                .api_version
                .as_deref(),
            Some("2025-10-02-preview")
        );
        assert_eq!(
            target("https://p.io", Api::Legacy).api_version.as_deref(),
            Some("2024-02-02-preview")
        );
        assert_eq!(target("https://p.io", Api::Custom).api_version, None);
        let t = PoolTarget::new(
            "https://p.io",
            Api::Executions,
            Some("2024-10-02-preview"),
            "",
        )
        .unwrap();
        assert_eq!(t.session_api_version(), "2025-10-02-preview");
    }
}
