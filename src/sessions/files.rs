//! The files API of a session (`/mnt/data`), in both API generations.

use bytes::Bytes;
use reqwest::{Method, StatusCode};

use super::client::{Limits, MAX_DOWNLOAD_BYTES, SessionsClient};
use super::error::SessionsError;
use super::response::{self, RemoteFile};
use super::{Api, PoolTarget};
use crate::auth::Credentials;

impl SessionsClient {
    /// Uploads bytes as a file of the session (`/mnt/data`).
    pub async fn upload_file(
        &self,
        pool: &PoolTarget,
        credentials: &Credentials,
        identifier: &str,
        name: &str,
        content: Bytes,
    ) -> Result<RemoteFile, SessionsError> {
        let url = match pool.api {
            Api::Executions => pool.url(&["files"], pool.api_version.as_deref(), Some(identifier)),
            Api::Legacy => pool.url(
                &["files", "upload"],
                pool.api_version.as_deref(),
                Some(identifier),
            ),
            Api::Custom => return Err(no_files_api()),
        };
        let answer = self
            .send(
                &url,
                credentials,
                Limits::short(self.max_response_bytes),
                &|_| {},
                &|| {
                    let part =
                        reqwest::multipart::Part::stream(reqwest::Body::from(content.clone()))
                            .file_name(name.to_owned())
                            .mime_str("application/octet-stream")
                            .expect("a valid MIME type");
                    self.http
                        .post(url.clone())
                        .multipart(reqwest::multipart::Form::new().part("file", part))
                },
            )
            .await?;
        if !answer.status.is_success() {
            return Err(self.error_for(pool, &url, &answer));
        }
        let mut file = response::parse_uploaded_file(&answer.body)
            .map_err(SessionsError::MalformedResponse)?;
        if file.size.is_none() {
            file.size = Some(content.len() as u64);
        }
        Ok(file)
    }

    pub async fn list_files(
        &self,
        pool: &PoolTarget,
        credentials: &Credentials,
        identifier: &str,
    ) -> Result<Vec<RemoteFile>, SessionsError> {
        if pool.api == Api::Custom {
            return Err(no_files_api());
        }
        let url = pool.url(&["files"], pool.api_version.as_deref(), Some(identifier));
        let answer = self
            .simple(credentials, Method::GET, &url, self.max_response_bytes)
            .await?;
        if !answer.status.is_success() {
            return Err(self.error_for(pool, &url, &answer));
        }
        response::parse_file_list(&answer.body).map_err(SessionsError::MalformedResponse)
    }

    pub async fn download_file(
        &self,
        pool: &PoolTarget,
        credentials: &Credentials,
        identifier: &str,
        name: &str,
    ) -> Result<Bytes, SessionsError> {
        let url = match pool.api {
            Api::Executions => pool.url(
                &["files", name, "content"],
                pool.api_version.as_deref(),
                Some(identifier),
            ),
            Api::Legacy => pool.url(
                &["files", "content", name],
                pool.api_version.as_deref(),
                Some(identifier),
            ),
            Api::Custom => return Err(no_files_api()),
        };
        let answer = self
            .simple(
                credentials,
                Method::GET,
                &url,
                MAX_DOWNLOAD_BYTES.max(self.max_response_bytes),
            )
            .await?;
        if answer.status == StatusCode::NOT_FOUND {
            return Err(SessionsError::Http {
                status: 404,
                message: format!(
                    "the session has no file named {name:?} (list the files to see what is there)"
                ),
            });
        }
        if !answer.status.is_success() {
            return Err(self.error_for(pool, &url, &answer));
        }
        Ok(answer.body)
    }
}

fn no_files_api() -> SessionsError {
    SessionsError::Unsupported(
        "file transfer needs the executions or legacy API; custom-container pools (azureSessions.api = \"custom\") have no standard files API".to_owned(),
    )
}
