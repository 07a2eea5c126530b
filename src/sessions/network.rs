//! Enterprise networks: proxies (the setting, else HTTPS_PROXY/HTTP_PROXY with NO_PROXY;
//! loopback never proxied), private certificate authorities (extraCaCertificates and
//! SSL_CERT_FILE on top of the system store), and messages that name the fix when TLS or a
//! proxy fails. Verification is never turned off.

use std::path::Path;

use super::SessionsError;
use super::client::HttpOptions;

/// Hosts that never go through a proxy: all of loopback (127.0.0.0/8, not only 127.0.0.1).
const LOOPBACK: &str = "localhost,127.0.0.0/8,::1,::1/128,[::1]";

fn env(names: &[&str]) -> Option<String> {
    names
        .iter()
        .find_map(|name| std::env::var(name).ok())
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

/// The proxy URL and where it comes from: the setting, else the environment.
fn configured_proxy(options: &HttpOptions) -> Option<(String, &'static str)> {
    let explicit = options
        .proxy
        .as_deref()
        .map(str::trim)
        .filter(|p| !p.is_empty());
    if let Some(url) = explicit {
        return Some((url.to_owned(), "azureSessions.proxy"));
    }
    env(&[
        "HTTPS_PROXY",
        "https_proxy",
        "ALL_PROXY",
        "all_proxy",
        "HTTP_PROXY",
        "http_proxy",
    ])
    .map(|url| (url, "HTTPS_PROXY"))
}

/// How calls to a host go out, as `doctor` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProxyRoute {
    /// No proxy is configured.
    Direct,
    /// A proxy is configured, but not for this host (loopback, or listed in NO_PROXY).
    Excepted,
    /// Through this proxy (its URL without any credentials), set by `source`.
    Proxy { url: String, source: &'static str },
}

/// The route of calls to `host` under these options: the same rules as [`configure`] (loopback
/// never proxied; NO_PROXY entries match the host or its subdomains, `*` matches all).
pub fn proxy_route(options: &HttpOptions, host: &str) -> ProxyRoute {
    let Some((url, source)) = configured_proxy(options) else {
        return ProxyRoute::Direct;
    };
    let host = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_ascii_lowercase();
    let excepted = super::is_loopback_host(&host)
        || env(&["NO_PROXY", "no_proxy"]).is_some_and(|list| {
            list.split(',').map(str::trim).any(|entry| {
                let entry = entry.trim_start_matches("*.").trim_start_matches('.');
                let entry = entry.to_ascii_lowercase();
                entry == "*"
                    || (!entry.is_empty()
                        && (host == entry || host.ends_with(&format!(".{entry}"))))
            })
        });
    if excepted {
        return ProxyRoute::Excepted;
    }
    ProxyRoute::Proxy {
        url: super::without_credentials(&url),
        source,
    }
}

/// Applies proxy and trust settings to a client builder.
pub fn configure(
    mut builder: reqwest::ClientBuilder,
    options: &HttpOptions,
) -> Result<reqwest::ClientBuilder, SessionsError> {
    // reqwest's own detection is replaced by ours, so that loopback is never proxied.
    builder = builder.no_proxy();
    if let Some((url, source)) = configured_proxy(options) {
        let exceptions = match env(&["NO_PROXY", "no_proxy"]) {
            Some(list) => format!("{list},{LOOPBACK}"),
            None => LOOPBACK.to_owned(),
        };
        let proxy = reqwest::Proxy::all(&url)
            .map_err(|e| {
                SessionsError::Unsupported(format!(
                    "{source} {url:?} is not a valid proxy URL: {e}"
                ))
            })?
            .no_proxy(reqwest::NoProxy::from_string(&exceptions));
        builder = builder.proxy(proxy);
    }
    for path in &options.extra_ca_files {
        builder = trust(builder, path, "azureSessions.extraCaCertificates")?;
    }
    if let Some(file) = env(&["SSL_CERT_FILE"]) {
        builder = trust(builder, Path::new(&file), "SSL_CERT_FILE")?;
    }
    Ok(builder)
}

fn trust(
    mut builder: reqwest::ClientBuilder,
    path: &Path,
    source: &str,
) -> Result<reqwest::ClientBuilder, SessionsError> {
    let pem = std::fs::read(path).map_err(|e| SessionsError::LocalFile {
        path: format!("{} (from {source})", path.display()),
        reason: e.to_string(),
    })?;
    let certificates = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| {
        SessionsError::Unsupported(format!(
            "{source}: {} holds no PEM certificate ({e})",
            path.display()
        ))
    })?;
    if certificates.is_empty() {
        return Err(SessionsError::Unsupported(format!(
            "{source}: {} holds no PEM certificate",
            path.display()
        )));
    }
    for certificate in certificates {
        builder = builder.add_root_certificate(certificate);
    }
    Ok(builder)
}

/// Rewrites the reason of a failed connection when it is a TLS or proxy problem, so it says
/// why and which setting fixes it.
pub fn explain(host: &str, reason: &str) -> String {
    let lower = reason.to_ascii_lowercase();
    let fix_ca = "add the certificate authority that signed it with azureSessions.extraCaCertificates (or SSL_CERT_FILE)";
    if lower.contains("unknownissuer")
        || lower.contains("unknown issuer")
        || lower.contains("unknownca")
    {
        format!(
            "the TLS certificate of {host} is signed by an unknown authority (unknown issuer); {fix_ca}"
        )
    } else if lower.contains("expired") {
        format!(
            "the TLS certificate of {host} has expired (or the clock of this machine is wrong); the pool's certificate must be renewed"
        )
    } else if lower.contains("notvalidforname")
        || lower.contains("not valid for name")
        || lower.contains("certificate is not valid for")
    {
        format!(
            "the TLS certificate served for {host} is not valid for that name (name mismatch); check azureSessions.endpoint, or a proxy that re-signs TLS needs its CA in azureSessions.extraCaCertificates"
        )
    } else if lower.contains("invalid peer certificate")
        || lower.contains("certificate") && lower.contains("tls")
    {
        format!("the TLS certificate of {host} was rejected ({reason}); {fix_ca}")
    } else if lower.contains("407")
        || lower.contains("proxy authentication")
        || lower.contains("proxy authorization")
    {
        format!(
            "the proxy asks for authentication (407) before it connects to {host}: put credentials in the proxy URL (http://user:password@proxy:port) in azureSessions.proxy or HTTPS_PROXY"
        )
    } else if lower.contains("unsuccessful tunnel") || lower.contains("tunnel") {
        format!(
            "the proxy refused to open a tunnel to {host} ({reason}); check azureSessions.proxy / HTTPS_PROXY, or add the host to NO_PROXY"
        )
    } else {
        reason.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tls_and_proxy_failures_name_the_fix() {
        let unknown = explain(
            "pool.example.io",
            "client error (Connect): invalid peer certificate: UnknownIssuer",
        );
        assert!(
            unknown.contains("pool.example.io")
                && unknown.contains("unknown issuer")
                && unknown.contains("extraCaCertificates")
        );
        assert!(explain("h", "invalid peer certificate: Expired").contains("expired"));
        assert!(
            explain("h", "invalid peer certificate: NotValidForName").contains("name mismatch")
        );
        assert!(explain("h", "unsuccessful tunnel").contains("refused to open a tunnel"));
        assert!(explain("h", "proxy authentication required (407)").contains("authentication"));
        assert!(
            explain("h", "tunnel error: proxy authorization required")
                .contains("asks for authentication")
        );
        assert_eq!(
            explain("h", "Connection refused (os error 111)"),
            "Connection refused (os error 111)"
        );
    }
}
