//! One request that only opens the connection, for `doctor`: whether the pool can be reached
//! (DNS, TCP, TLS, proxy) and which certificate it shows, before any token or session.

use std::time::{Duration, Instant};

use super::answer_errors::{host_of, is_connection_refused, transport_error};
use super::client::SessionsClient;
use super::{PoolTarget, SessionsError};

/// What the pool's endpoint answered to a bare `HEAD`.
#[derive(Debug, Clone)]
pub struct Probe {
    /// Any status will do: the connection (and TLS) worked.
    pub status: u16,
    /// The DER of the certificate the server showed (https only).
    pub peer_certificate: Option<Vec<u8>>,
    pub elapsed: Duration,
}

impl SessionsClient {
    /// `HEAD {endpoint}` without credentials, names no session (so none is allocated) and is
    /// not retried: a refused connection is reported at once.
    pub async fn probe(
        &self,
        pool: &PoolTarget,
        timeout: Duration,
    ) -> Result<Probe, SessionsError> {
        let started = Instant::now();
        let response = self
            .http
            .head(pool.endpoint().clone())
            .timeout(timeout)
            .send()
            .await
            .map_err(|error| {
                if is_connection_refused(&error) {
                    SessionsError::Unreachable {
                        host: host_of(&error),
                        reason: "connection refused".to_owned(),
                    }
                } else {
                    transport_error(&error, timeout)
                }
            })?;
        let peer_certificate = response
            .extensions()
            .get::<reqwest::tls::TlsInfo>()
            .and_then(|info| info.peer_certificate())
            .map(<[u8]>::to_vec);
        Ok(Probe {
            status: response.status().as_u16(),
            peer_certificate,
            elapsed: started.elapsed(),
        })
    }
}
