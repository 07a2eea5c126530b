//! DNS and the connection (TLS for https): the pool's host resolves, and a bare request gets an
//! answer through the same HTTP client (proxy, certificate authorities) that runs use.

use std::net::IpAddr;
use std::time::Duration;

use reqwest::Url;
use time::OffsetDateTime;

use super::Pool;
use super::report::Report;
use super::token::relative;
use super::x509;
use crate::sessions::{HttpOptions, ProxyRoute, SessionsError, proxy_route};

const LOOKUP_TIMEOUT: Duration = Duration::from_secs(10);
const PROBE_TIMEOUT: Duration = Duration::from_secs(15);
/// A certificate closer than this to its end is worth a warning.
const EXPIRY_WARNING: time::Duration = time::Duration::days(14);

/// The name of the connection check: `TLS` for https, `Connection` for plain http.
pub fn connection_name(endpoint: &Url) -> &'static str {
    if endpoint.scheme() == "https" {
        "TLS"
    } else {
        "Connection"
    }
}

fn host_port(endpoint: &Url) -> String {
    let host = endpoint.host_str().unwrap_or("?");
    match endpoint.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_owned(),
    }
}

fn route_text(route: &ProxyRoute) -> String {
    match route {
        ProxyRoute::Direct => "direct (no proxy)".to_owned(),
        ProxyRoute::Excepted => "direct (NO_PROXY or loopback)".to_owned(),
        ProxyRoute::Proxy { url, source } => format!("through the proxy {url} (from {source})"),
    }
}

/// Looks the host up. `true` when the next checks can go on (it resolved, it is an address, or
/// a proxy resolves it for us).
pub async fn dns(report: &mut Report, pool: &Pool, options: &HttpOptions) -> bool {
    const NAME: &str = "DNS";
    let endpoint = pool.target.endpoint();
    let host = endpoint.host_str().unwrap_or_default().to_owned();
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    if bare.parse::<IpAddr>().is_ok() {
        report.ok(
            NAME,
            format!(
                "{} is an IP address: nothing to look up",
                host_port(endpoint)
            ),
        );
        return true;
    }
    let port = endpoint.port_or_known_default().unwrap_or(443);
    let lookup = tokio::time::timeout(
        LOOKUP_TIMEOUT,
        tokio::net::lookup_host((host.as_str(), port)),
    );
    let failure = match lookup.await {
        Ok(Ok(addresses)) => {
            let mut ips: Vec<IpAddr> = Vec::new();
            for address in addresses {
                if !ips.contains(&address.ip()) {
                    ips.push(address.ip());
                }
            }
            if !ips.is_empty() {
                let shown: Vec<String> = ips.iter().take(3).map(IpAddr::to_string).collect();
                let more = if ips.len() > 3 { ", …" } else { "" };
                let private = ips.iter().all(|ip| match ip {
                    IpAddr::V4(v4) => v4.is_private(),
                    IpAddr::V6(v6) => (v6.segments()[0] & 0xfe00) == 0xfc00,
                });
                let note = if private {
                    " — private addresses: a private endpoint, reachable only inside its network"
                } else {
                    ""
                };
                report.ok(
                    NAME,
                    format!(
                        "{host} → {} address{} ({}{more}){note}",
                        ips.len(),
                        if ips.len() == 1 { "" } else { "es" },
                        shown.join(", ")
                    ),
                );
                return true;
            }
            "no addresses".to_owned()
        }
        Ok(Err(error)) => error.to_string(),
        Err(_) => format!("no answer within {} s", LOOKUP_TIMEOUT.as_secs()),
    };
    if let ProxyRoute::Proxy { url, .. } = proxy_route(options, &host) {
        report.warn(
            NAME,
            format!("{host} does not resolve here ({failure}); the proxy {url} resolves it"),
            "nothing to do if the proxy reaches the pool (see the next check)",
        );
        return true;
    }
    report.fail(
        NAME,
        format!("{host} does not resolve ({failure})"),
        "check the host in azureSessions.endpoint against the pool's poolManagementEndpoint; a \
         pool behind a private endpoint resolves only inside its network (VPN, private DNS zone), \
         and a proxy can be set with azureSessions.proxy or HTTPS_PROXY",
    );
    false
}

/// A bare `HEAD` to the endpoint through the runs' HTTP client. `true` when it was answered.
pub async fn reach(report: &mut Report, pool: &Pool, options: &HttpOptions) -> bool {
    let endpoint = pool.target.endpoint();
    let name = connection_name(endpoint);
    let route = proxy_route(options, endpoint.host_str().unwrap_or_default());
    let where_ = host_port(endpoint);
    match pool.http.probe(&pool.target, PROBE_TIMEOUT).await {
        Ok(probe) if endpoint.scheme() == "https" => {
            let route = route_text(&route);
            match probe.peer_certificate.as_deref().and_then(x509::summarize) {
                Some(cert) => {
                    let left = cert.not_after - OffsetDateTime::now_utc();
                    let detail = format!(
                        "certificate for {} issued by {}, valid until {} ({}); {route}",
                        cert.subject,
                        cert.issuer,
                        cert.not_after.date(),
                        relative(cert.not_after)
                    );
                    if left < EXPIRY_WARNING {
                        report.warn(name, detail, "the pool's certificate must be renewed soon");
                    } else {
                        report.ok(name, detail);
                    }
                }
                None => report.ok(name, format!("connected to {where_} over TLS; {route}")),
            }
            true
        }
        Ok(probe) => {
            report.ok(
                name,
                format!(
                    "{where_} answered (plain HTTP on loopback) in {} ms",
                    probe.elapsed.as_millis()
                ),
            );
            true
        }
        Err(error) => {
            let (detail, fix) = explain_failure(&error, &where_, &route);
            report.fail(name, detail, fix);
            false
        }
    }
}

/// What a failed connection means and what to do about it.
fn explain_failure(error: &SessionsError, where_: &str, route: &ProxyRoute) -> (String, String) {
    let reason =
        match error {
            SessionsError::Unreachable { reason, .. } => reason.clone(),
            SessionsError::Timeout { .. } => {
                return (
                format!("no answer from {where_} within {} s", PROBE_TIMEOUT.as_secs()),
                "a firewall may drop the connection: check the network path, or set a proxy with \
                 azureSessions.proxy / HTTPS_PROXY"
                    .to_owned(),
            );
            }
            other => return (other.to_string(), "check azureSessions.endpoint".to_owned()),
        };
    let lower = reason.to_ascii_lowercase();
    // The network layer's explanation ends with its own advice after "; ": the fix says it here.
    let said = reason.split("; ").next().unwrap_or(&reason).to_owned();
    let fix = if lower.contains("connection refused") {
        return (
            format!("nothing listens on {where_} (connection refused)"),
            "check the port in azureSessions.endpoint; a local pool started with `azure-sessions-lsp \
             pool` prints its port on its first line (or use the endpoint \"local\")"
                .to_owned(),
        );
    } else if lower.contains("expired") {
        "the pool's certificate must be renewed; if it is not expired, this machine's clock is wrong"
    } else if lower.contains("unknown authority") || lower.contains("unknown issuer") {
        "add the certificate authority that signed it (for example the one of a TLS-inspecting \
         proxy) with azureSessions.extraCaCertificates or SSL_CERT_FILE; verification stays on"
    } else if lower.contains("not valid for that name") {
        "check the host in azureSessions.endpoint; a proxy that re-signs TLS needs its CA in \
         azureSessions.extraCaCertificates"
    } else if lower.contains("proxy") || lower.contains("tunnel") {
        "check azureSessions.proxy / HTTPS_PROXY (and NO_PROXY)"
    } else if lower.contains("dns") || lower.contains("lookup") || lower.contains("resolve") {
        "check the host in azureSessions.endpoint"
    } else if lower.contains("certificate") || lower.contains("tls") || lower.contains("handshake")
    {
        "check the pool's certificate, or add its CA with azureSessions.extraCaCertificates"
    } else {
        "check the network path to the pool"
    };
    let via = match route {
        ProxyRoute::Proxy { url, .. } => format!(" (through the proxy {url})"),
        _ => String::new(),
    };
    (format!("{said}{via}"), fix.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_name_their_cause() {
        let refused = SessionsError::Unreachable {
            host: "127.0.0.1:9".into(),
            reason: "connection refused".into(),
        };
        let (detail, fix) = explain_failure(&refused, "127.0.0.1:9", &ProxyRoute::Direct);
        assert_eq!(
            detail,
            "nothing listens on 127.0.0.1:9 (connection refused)"
        );
        assert!(fix.contains("port"));
        let expired = SessionsError::Unreachable {
            host: "h".into(),
            reason:
                "the TLS certificate of h has expired (or the clock of this machine is wrong); \
                     the pool's certificate must be renewed"
                    .into(),
        };
        let (detail, fix) = explain_failure(&expired, "h", &ProxyRoute::Direct);
        assert!(
            detail.contains("expired") && fix.contains("renewed"),
            "{detail} / {fix}"
        );
    }
}
