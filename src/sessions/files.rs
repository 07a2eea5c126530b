//! The files API of a session (`/mnt/data`), in both API generations, as the spec defines it:
//! a folder goes in the `path` query parameter (`dir/file.csv` is `path=dir` and `file.csv`),
//! lists follow `nextLink`, files can be deleted, and names are checked against the documented
//! characters before an upload, so that a bad name is refused here and not halfway there.

use bytes::Bytes;
use reqwest::{Method, StatusCode, Url};

use super::client::{Limits, MAX_DOWNLOAD_BYTES, SessionsClient};
use super::error::SessionsError;
use super::response::{self, RemoteFile};
use super::{Api, PoolTarget};
use crate::auth::Credentials;

/// Azure's upload limit (sessions-code-interpreter.md); larger requests get 413.
pub const MAX_UPLOAD_BYTES: u64 = 128 * 1024 * 1024;
/// Pages of a file list followed at most (a runaway `nextLink` ends here).
const MAX_PAGES: usize = 100;

/// A remote name split into its folder (the `path` parameter) and file name; `/mnt/data/` and
/// leading slashes mean the session's own folder.
pub fn split_remote_name(name: &str) -> (Option<String>, String) {
    let trimmed = name.trim_start_matches('/');
    let trimmed = trimmed
        .strip_prefix("mnt/data/")
        .unwrap_or(trimmed)
        .trim_start_matches('/');
    match trimmed.rsplit_once('/') {
        Some((dir, file)) if !dir.is_empty() => (Some(dir.to_owned()), file.to_owned()),
        Some((_, file)) => (None, file.to_owned()),
        None => (None, trimmed.to_owned()),
    }
}

/// Checks a file name against the characters the docs allow: letters and digits (any script),
/// space and `- _ . @ $ & = ; , # % ^ ( )`.
pub fn check_file_name(name: &str) -> Result<(), SessionsError> {
    let allowed = |c: char| {
        c.is_alphanumeric() || (!c.is_ascii() && !c.is_control()) || " -_.@$&=;,#%^()".contains(c)
    };
    let bad = name.chars().find(|c| !allowed(*c));
    let reason = match bad {
        _ if name.is_empty() => Some("it is empty".to_owned()),
        _ if name == "." || name == ".." => Some("it names a folder".to_owned()),
        Some(c) => Some(format!("{c:?} is not allowed")),
        None => None,
    };
    match reason {
        Some(reason) => Err(SessionsError::InvalidFileName {
            name: name.to_owned(),
            reason,
        }),
        None => Ok(()),
    }
}

impl SessionsClient {
    /// Uploads bytes as a file of the session (`/mnt/data`, or a folder of it: `dir/file`).
    pub async fn upload_file(
        &self,
        pool: &PoolTarget,
        credentials: &Credentials,
        identifier: &str,
        name: &str,
        content: Bytes,
    ) -> Result<RemoteFile, SessionsError> {
        let (dir, file_name) = split_remote_name(name);
        check_file_name(&file_name)?;
        if content.len() as u64 > MAX_UPLOAD_BYTES {
            return Err(SessionsError::PayloadTooLarge);
        }
        let segments: &[&str] = match pool.api {
            Api::Executions => &["files"],
            Api::Legacy => &["files", "upload"],
            Api::Custom => return Err(no_files_api()),
        };
        let url = files_url(pool, segments, identifier, dir.as_deref());
        let answer = self
            .send(
                &url,
                credentials,
                Limits::short(self.max_response_bytes),
                &|_| {},
                &|| {
                    let part =
                        reqwest::multipart::Part::stream(reqwest::Body::from(content.clone()))
                            .file_name(file_name.clone())
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

    /// The files of the session's folder (`/mnt/data`, or `dir`), every page of them.
    pub async fn list_files(
        &self,
        pool: &PoolTarget,
        credentials: &Credentials,
        identifier: &str,
    ) -> Result<Vec<RemoteFile>, SessionsError> {
        if pool.api == Api::Custom {
            return Err(no_files_api());
        }
        let mut url = files_url(pool, &["files"], identifier, None);
        let mut files = Vec::new();
        for _ in 0..MAX_PAGES {
            let answer = self
                .simple(credentials, Method::GET, &url, self.max_response_bytes)
                .await?;
            if !answer.status.is_success() {
                return Err(self.error_for(pool, &url, &answer));
            }
            let (page, next) = response::parse_file_page(&answer.body)
                .map_err(SessionsError::MalformedResponse)?;
            files.extend(page);
            match next.and_then(|link| url.join(&link).ok()) {
                // The token goes with the next page: only on the pool's own origin.
                Some(next) if next.origin() == pool.endpoint().origin() && next != url => {
                    url = next
                }
                _ => break,
            }
        }
        Ok(files)
    }

    pub async fn download_file(
        &self,
        pool: &PoolTarget,
        credentials: &Credentials,
        identifier: &str,
        name: &str,
    ) -> Result<Bytes, SessionsError> {
        let (dir, file_name) = split_remote_name(name);
        let url = match pool.api {
            Api::Executions => files_url(
                pool,
                &["files", &file_name, "content"],
                identifier,
                dir.as_deref(),
            ),
            Api::Legacy => files_url(
                pool,
                &["files", "content", &file_name],
                identifier,
                dir.as_deref(),
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
            return Err(no_such_file(name));
        }
        if !answer.status.is_success() {
            return Err(self.error_for(pool, &url, &answer));
        }
        Ok(answer.body)
    }

    /// Deletes a file of the session (`DELETE /files/{name}`, 204; also on the legacy version).
    pub async fn delete_file(
        &self,
        pool: &PoolTarget,
        credentials: &Credentials,
        identifier: &str,
        name: &str,
    ) -> Result<(), SessionsError> {
        if pool.api == Api::Custom {
            return Err(no_files_api());
        }
        let (dir, file_name) = split_remote_name(name);
        let url = files_url(pool, &["files", &file_name], identifier, dir.as_deref());
        let answer = self
            .simple(credentials, Method::DELETE, &url, self.max_response_bytes)
            .await?;
        if answer.status == StatusCode::NOT_FOUND {
            return Err(no_such_file(name));
        }
        if !answer.status.is_success() {
            return Err(self.error_for(pool, &url, &answer));
        }
        Ok(())
    }
}

/// `{endpoint}/{segments}?api-version=…&identifier=…[&path=dir]`.
fn files_url(pool: &PoolTarget, segments: &[&str], identifier: &str, dir: Option<&str>) -> Url {
    let mut url = pool.url(segments, pool.api_version.as_deref(), Some(identifier));
    if let Some(dir) = dir {
        url.query_pairs_mut().append_pair("path", dir);
    }
    url
}

fn no_such_file(name: &str) -> SessionsError {
    SessionsError::Http {
        status: 404,
        message: format!(
            "the session has no file named {name:?} (list the files to see what is there)"
        ),
    }
}

fn no_files_api() -> SessionsError {
    SessionsError::Unsupported(
        "file transfer needs the executions or legacy API; custom-container pools (azureSessions.api = \"custom\") have no standard files API".to_owned(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folders_go_in_the_path_parameter() {
        assert_eq!(
            split_remote_name("dir/sub/file.csv"),
            (Some("dir/sub".to_owned()), "file.csv".to_owned())
        );
        assert_eq!(
            split_remote_name("/mnt/data/file.csv"),
            (None, "file.csv".to_owned())
        );
        assert_eq!(split_remote_name("file.csv"), (None, "file.csv".to_owned()));
        let pool = PoolTarget::new("https://p.example.io", Api::Executions, None, "").unwrap();
        let url = files_url(
            &pool,
            &["files", "file.csv", "content"],
            "id-1234",
            Some("dir"),
        );
        assert_eq!(url.path(), "/files/file.csv/content");
        assert!(url.query().unwrap().ends_with("&path=dir"), "{url}");
    }

    #[test]
    fn names_are_checked_against_the_documented_characters() {
        for good in [
            "data.csv",
            "a b (1).txt",
            "x@y$z&=;,#%^.log",
            "données-été.csv",
            "数据.csv",
        ] {
            assert!(check_file_name(good).is_ok(), "{good}");
        }
        for bad in [
            "a+b.txt",
            "x[1].csv",
            "q?.txt",
            "tab\there",
            "",
            "..",
            "a*b",
            "pipe|",
        ] {
            assert!(check_file_name(bad).is_err(), "{bad}");
        }
    }
}
