//! Session calls: what the pool says about a session, and ending it. Code-interpreter pools
//! answer `/session`; custom-container pools, whose other paths go to the container, answer
//! `/.management/*`.

use reqwest::{Method, StatusCode, Url};

use super::client::SessionsClient;
use super::error::SessionsError;
use super::response::{self, SessionDescription};
use super::{Api, PoolTarget};
use crate::auth::Credentials;

impl SessionsClient {
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

/// The api-version of `.management/*` routes of custom-container pools.
const SESSION_STOP_VERSION: &str = "2025-10-02-preview";

/// A session call: `{method} /session` on code-interpreter pools; on custom-container pools,
/// whose other paths go to the container, `POST /.management/{action}`.
fn session_route(
    pool: &PoolTarget,
    identifier: &str,
    action: &str,
    method: Method,
) -> (Method, Url) {
    match pool.api {
        Api::Custom => (
            Method::POST,
            pool.url(
                &[".management", action],
                Some(SESSION_STOP_VERSION),
                Some(identifier),
            ),
        ),
        _ => (
            method,
            pool.url(
                &["session"],
                Some(pool.session_api_version()),
                Some(identifier),
            ),
        ),
    }
}
