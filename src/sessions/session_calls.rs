//! Session calls: what the pool says about a session, and ending it. Code-interpreter pools
//! answer `/session`; custom-container pools, whose other paths go to the container, answer
//! `/.management/*`.

use reqwest::{Method, StatusCode, Url};

use super::PoolTarget;
use super::client::SessionsClient;
use super::error::SessionsError;
use super::response::{self, SessionDescription};
use crate::auth::Credentials;

impl SessionsClient {
    /// Opens the connection (and TLS session) before the first run, naming no session: on Azure
    /// a request with an identifier allocates the session. Any answer will do.
    pub async fn warm_up(
        &self,
        pool: &PoolTarget,
        credentials: &Credentials,
    ) -> Result<(), SessionsError> {
        self.simple(credentials, Method::HEAD, pool.endpoint(), 1 << 16)
            .await
            .map(|_| ())
    }

    /// Deletes the session (its state and files). A session that is already gone is fine.
    pub async fn delete_session(
        &self,
        pool: &PoolTarget,
        credentials: &Credentials,
        identifier: &str,
    ) -> Result<(), SessionsError> {
        let (method, url) = session_route(pool, identifier, "stopSession", Method::DELETE);
        let answer = self
            .simple(credentials, method, &url, self.max_response_bytes)
            .await?;
        if answer.status.is_success() || answer.status == StatusCode::NOT_FOUND {
            return Ok(());
        }
        match self.error_for(pool, &url, &answer) {
            SessionsError::BadRequest { code, .. } if code == "SessionWithIdentifierNotFound" => {
                Ok(())
            }
            // Recorded: `.management/stopSession` on a session already gone answers 400
            // text/plain "Failed to stop session, session not found." It is stopped.
            SessionsError::BadRequest { message, .. }
                if message.to_ascii_lowercase().contains("not found") =>
            {
                Ok(())
            }
            error => Err(error),
        }
    }

    /// What the pool says about the session; `None` when it has no such session (yet).
    pub async fn get_session(
        &self,
        pool: &PoolTarget,
        credentials: &Credentials,
        identifier: &str,
    ) -> Result<Option<SessionDescription>, SessionsError> {
        let (method, url) = session_route(pool, identifier, "getSession", Method::GET);
        let answer = self
            .simple(credentials, method, &url, self.max_response_bytes)
            .await?;
        if answer.status == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        if !answer.status.is_success() {
            return match self.error_for(pool, &url, &answer) {
                SessionsError::BadRequest { code, .. }
                    if code == "SessionWithIdentifierNotFound" =>
                {
                    Ok(None)
                }
                error => Err(error),
            };
        }
        response::parse_session(&answer.body)
            .map(Some)
            .map_err(SessionsError::MalformedResponse)
    }
}

/// The api-version of `.management/*` routes of custom-container pools (the one recorded
/// against a real pool).
const SESSION_STOP_VERSION: &str = "2025-02-02-preview";

/// A session call: `{method} /session` on code-interpreter pools; on custom-container pools,
/// whose other paths go to the container, `POST /.management/{action}`.
fn session_route(
    pool: &PoolTarget,
    identifier: &str,
    action: &str,
    method: Method,
) -> (Method, Url) {
    // By pool kind, not by api: a custom-container pool forwards `/session` to the container
    // (azure-container-apps#1665), whichever api its runs use.
    match pool.is_custom_container() {
        true => (
            Method::POST,
            pool.url(
                &[".management", action],
                Some(SESSION_STOP_VERSION),
                Some(identifier),
            ),
        ),
        false => (
            method,
            pool.url(
                &["session"],
                Some(pool.session_api_version()),
                Some(identifier),
            ),
        ),
    }
}
