//! The files API in both generations: the session's data directory as Azure exposes `/mnt/data`.
//!
//! New (2024-10-02-preview and later): `POST /files`, `GET /files`, `GET /files/{name}`,
//! `GET /files/{name}/content`, `DELETE /files/{name}`, with an optional `path` subdirectory.
//! Legacy (older api-versions): `POST /files/upload`, `GET /files`, `GET /files/content/{name}`.

use std::path::{Path, PathBuf};

use axum::body::{Body, Bytes};
use axum::extract::multipart::{Multipart, MultipartRejection};
use axum::extract::{Path as UrlPath, State};
use axum::http::{StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::errors::PoolError;
use super::routes::{AppState, Request, is_legacy};

/// Azure's upload limit.
pub const MAX_UPLOAD_BYTES: u64 = 128 * 1024 * 1024;

/// Checks one file name (or one path segment). Anything that could leave the directory is refused.
pub fn validate_name(name: &str) -> Result<&str, PoolError> {
    let bad = name.is_empty()
        || name.contains(['/', '\\', '\0'])
        || name == "."
        || name.starts_with("..")
        || name.chars().count() > 255;
    if bad {
        Err(PoolError::invalid_file_path(name))
    } else {
        Ok(name)
    }
}

/// Clients send `/mnt/data/<name>` as well as `<name>`; both mean the session's directory.
fn strip_data_prefix(name: &str) -> &str {
    let trimmed = name.trim_start_matches('/');
    if trimmed == "mnt/data" {
        return "";
    }
    trimmed
        .strip_prefix("mnt/data/")
        .map_or(trimmed, |rest| rest.trim_start_matches('/'))
}

/// The directory named by the `path` query parameter, inside the session's directory.
fn directory(session_dir: &Path, path: Option<&str>) -> Result<PathBuf, PoolError> {
    let mut dir = session_dir.to_path_buf();
    let Some(path) = path else { return Ok(dir) };
    for segment in strip_data_prefix(path).split('/').filter(|s| !s.is_empty()) {
        if segment == "." {
            continue;
        }
        validate_name(segment).map_err(|_| PoolError::invalid_file_path(path))?;
        dir.push(segment);
    }
    Ok(dir)
}

/// The path of file `name` (validated) in the session the request names, under its `path`.
/// Its directory (and, with `follow`, the file itself) must resolve inside the session's
/// directory: a symlink that the session's code made never leads the file API out of it.
async fn named_file(
    app: &AppState,
    uri: &Uri,
    name: &str,
    follow: bool,
) -> Result<PathBuf, PoolError> {
    let req = Request::new(uri).with_api_version()?;
    let session = app.registry.get_or_create(req.identifier()?)?;
    let dir = directory(&session.dir, req.get("path"))?;
    ensure_inside(&session.dir, &dir).await?;
    let path = dir.join(validate_name(strip_data_prefix(name))?);
    if follow {
        ensure_inside(&session.dir, &path).await?;
    }
    Ok(path)
}

/// Checks that `path` (or, where it does not exist yet, its nearest existing ancestor) resolves
/// inside `session_dir` once every symlink is followed.
async fn ensure_inside(session_dir: &Path, path: &Path) -> Result<(), PoolError> {
    let root = tokio::fs::canonicalize(session_dir)
        .await
        .map_err(|e| PoolError::internal(format!("the session's directory is gone: {e}")))?;
    let mut existing = Some(path);
    while let Some(candidate) = existing {
        match tokio::fs::canonicalize(candidate).await {
            Ok(resolved) if resolved.starts_with(&root) => return Ok(()),
            Ok(_) => break,
            Err(_) => existing = candidate.parent(),
        }
    }
    Err(PoolError::new(
        StatusCode::BAD_REQUEST,
        "FilePathInvalid",
        "The path leaves the session's directory (through a symbolic link).",
    ))
}

fn not_found(name: &str) -> PoolError {
    PoolError::not_found(
        "FileNotFound",
        format!(
            "The file '{}' was not found in the session.",
            super::errors::shorten(name)
        ),
    )
}

fn rfc3339(time: std::io::Result<std::time::SystemTime>) -> String {
    let at = time
        .map(OffsetDateTime::from)
        .unwrap_or_else(|_| OffsetDateTime::now_utc());
    at.format(&Rfc3339).unwrap_or_default()
}

fn content_type(name: &str) -> &'static str {
    let ext = name
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    match ext.as_str() {
        "txt" | "log" | "md" | "py" | "js" => "text/plain",
        "csv" => "text/csv",
        "html" | "htm" => "text/html",
        "json" => "application/json",
        "yaml" | "yml" => "application/yaml",
        "xml" => "application/xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "svg" => "image/svg+xml",
        "pdf" => "application/pdf",
        "zip" => "application/zip",
        _ => "application/octet-stream",
    }
}

struct Entry {
    name: String,
    is_dir: bool,
    size: u64,
    modified: String,
}

impl Entry {
    /// A symlink is described as itself, never as what it points to.
    async fn read(path: &Path) -> Option<Entry> {
        let meta = tokio::fs::symlink_metadata(path).await.ok()?;
        Some(Entry {
            name: path.file_name()?.to_string_lossy().into_owned(),
            is_dir: meta.is_dir(),
            size: meta.len(),
            modified: rfc3339(meta.modified()),
        })
    }

    fn resource(&self) -> Value {
        json!({
            "name": self.name,
            "type": if self.is_dir { "directory" } else { "file" },
            "contentType": if self.is_dir { "application/octet-stream" } else { content_type(&self.name) },
            "sizeInBytes": self.size,
            "lastModifiedAt": self.modified,
        })
    }
}

/// Legacy list shape, with Newtonsoft-style `$id` numbering.
fn legacy_list(entries: &[Entry]) -> Value {
    let mut next = 1;
    let mut id = || {
        next += 1;
        next.to_string()
    };
    let value: Vec<Value> = entries
        .iter()
        .map(|e| {
            json!({
                "$id": id(),
                "properties": {
                    "$id": id(),
                    "filename": e.name,
                    "size": e.size,
                    "lastModifiedTime": e.modified,
                }
            })
        })
        .collect();
    json!({ "$id": "1", "value": value })
}

async fn list_dir(dir: &Path, include_dirs: bool) -> Vec<Entry> {
    let mut entries = Vec::new();
    let Ok(mut reader) = tokio::fs::read_dir(dir).await else {
        return entries;
    };
    while let Ok(Some(item)) = reader.next_entry().await {
        if let Some(entry) = Entry::read(&item.path()).await
            && (include_dirs || !entry.is_dir)
        {
            entries.push(entry);
        }
    }
    entries.sort_by(|a, b| a.name.cmp(&b.name));
    entries
}

/// `GET /files`: the listing, in the shape of the request's api-version.
pub async fn list(State(app): State<AppState>, uri: Uri) -> Result<Response, PoolError> {
    let req = Request::new(&uri).with_api_version()?;
    let session = app.registry.get_or_create(req.identifier()?)?;
    let dir = directory(&session.dir, req.get("path"))?;
    ensure_inside(&session.dir, &dir).await?;
    if is_legacy(req.api_version()) {
        let entries = list_dir(&dir, false).await;
        return Ok(axum::Json(legacy_list(&entries)).into_response());
    }
    let entries = list_dir(&dir, true).await;
    let value: Vec<Value> = entries.iter().map(Entry::resource).collect();
    Ok(axum::Json(json!({ "value": value, "nextLink": null })).into_response())
}

/// `GET /files/{name}`: one file's metadata.
pub async fn get(
    State(app): State<AppState>,
    UrlPath(name): UrlPath<String>,
    uri: Uri,
) -> Result<Response, PoolError> {
    let path = named_file(&app, &uri, &name, true).await?;
    match Entry::read(&path).await {
        Some(entry) => Ok(axum::Json(entry.resource()).into_response()),
        None => Err(not_found(&name)),
    }
}

/// `DELETE /files/{name}`.
pub async fn delete(
    State(app): State<AppState>,
    UrlPath(name): UrlPath<String>,
    uri: Uri,
) -> Result<Response, PoolError> {
    // The link itself may be deleted; never what it points to.
    let path = named_file(&app, &uri, &name, false).await?;
    let meta = tokio::fs::symlink_metadata(&path)
        .await
        .map_err(|_| not_found(&name))?;
    let removed = if meta.is_dir() {
        tokio::fs::remove_dir_all(&path).await
    } else {
        tokio::fs::remove_file(&path).await
    };
    removed.map_err(|e| PoolError::internal(format!("could not delete the file: {e}")))?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `GET /files/{name}/content`.
pub async fn content(
    State(app): State<AppState>,
    UrlPath(name): UrlPath<String>,
    uri: Uri,
) -> Result<Response, PoolError> {
    let path = named_file(&app, &uri, &name, true).await?;
    download(&path, &name).await
}

/// `GET /files/content/{name}` (legacy).
pub async fn legacy_content(
    State(app): State<AppState>,
    UrlPath(name): UrlPath<String>,
    uri: Uri,
) -> Result<Response, PoolError> {
    let req = Request::new(&uri).with_api_version()?;
    let session = app.registry.get_or_create(req.identifier()?)?;
    let path = session.dir.join(validate_name(strip_data_prefix(&name))?);
    ensure_inside(&session.dir, &path).await?;
    download(&path, &name).await
}

async fn download(path: &Path, name: &str) -> Result<Response, PoolError> {
    let file = match tokio::fs::File::open(path).await {
        Ok(file) => file,
        Err(_) => return Err(not_found(name)),
    };
    let meta = file.metadata().await.map_err(|_| not_found(name))?;
    if !meta.is_file() {
        return Err(not_found(name));
    }
    // Streamed, so a large file never sits in memory whole.
    let stream = futures::stream::unfold(Some(file), |file| async move {
        let mut file = file?;
        let mut buf = vec![0u8; 64 * 1024];
        match file.read(&mut buf).await {
            Ok(0) => None,
            Ok(n) => {
                buf.truncate(n);
                Some((Ok(Bytes::from(buf)), Some(file)))
            }
            Err(e) => Some((Err(e), None)),
        }
    });
    Ok((
        [
            (header::CONTENT_TYPE, "application/octet-stream".to_string()),
            (header::CONTENT_LENGTH, meta.len().to_string()),
        ],
        Body::from_stream(stream),
    )
        .into_response())
}

/// Stores every `file` part of the upload; returns the stored entries.
async fn receive(
    app: &AppState,
    dir: &Path,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<Vec<Entry>, PoolError> {
    let mut multipart = multipart.map_err(|e| {
        PoolError::validation(format!(
            "the upload must be multipart/form-data with a part named 'file': {e}"
        ))
    })?;
    let mut stored = Vec::new();
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => break,
            Err(e) => return Err(upload_error(e.status(), &e.body_text())),
        };
        if field.name() != Some("file") {
            continue;
        }
        let raw_name = field.file_name().map(str::to_string).unwrap_or_default();
        let name = validate_name(strip_data_prefix(&raw_name))?.to_string();
        stored.push(store(app, dir, &name, field).await?);
    }
    if stored.is_empty() {
        return Err(PoolError::validation(
            "the upload has no part named 'file' with a file name",
        ));
    }
    Ok(stored)
}

fn upload_error(status: StatusCode, text: &str) -> PoolError {
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        too_large()
    } else {
        PoolError::validation(format!("the multipart upload could not be read: {text}"))
    }
}

fn too_large() -> PoolError {
    PoolError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "RequestEntityTooLarge",
        format!("The file exceeds the upload limit of {MAX_UPLOAD_BYTES} bytes (128 MB)."),
    )
}

/// Streams one part to a private temporary file, then moves it into place.
async fn store(
    app: &AppState,
    dir: &Path,
    name: &str,
    mut field: axum::extract::multipart::Field<'_>,
) -> Result<Entry, PoolError> {
    let part = app
        .settings
        .uploads_dir
        .join(format!("{}.part", uuid::Uuid::new_v4()));
    let result = async {
        let mut file = tokio::fs::File::create(&part)
            .await
            .map_err(|e| PoolError::internal(format!("could not store the upload: {e}")))?;
        let mut size: u64 = 0;
        loop {
            let chunk = match field.chunk().await {
                Ok(Some(chunk)) => chunk,
                Ok(None) => break,
                Err(e) => return Err(upload_error(e.status(), &e.body_text())),
            };
            size += chunk.len() as u64;
            if size > MAX_UPLOAD_BYTES {
                return Err(too_large());
            }
            file.write_all(&chunk)
                .await
                .map_err(|e| PoolError::internal(format!("could not store the upload: {e}")))?;
        }
        file.flush()
            .await
            .map_err(|e| PoolError::internal(format!("could not store the upload: {e}")))?;
        tokio::fs::create_dir_all(dir)
            .await
            .map_err(|e| PoolError::internal(format!("could not create the directory: {e}")))?;
        let target = dir.join(name);
        tokio::fs::rename(&part, &target)
            .await
            .map_err(|e| PoolError::internal(format!("could not store the upload: {e}")))?;
        Entry::read(&target)
            .await
            .ok_or_else(|| PoolError::internal("the uploaded file vanished"))
    }
    .await;
    if result.is_err() {
        let _ = tokio::fs::remove_file(&part).await;
    }
    result
}

/// `POST /files`: one object per uploaded file (the first, when several are sent).
pub async fn upload(
    State(app): State<AppState>,
    uri: Uri,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<Response, PoolError> {
    let req = Request::new(&uri).with_api_version()?;
    let session = app.registry.get_or_create(req.identifier()?)?;
    let dir = directory(&session.dir, req.get("path"))?;
    ensure_inside(&session.dir, &dir).await?;
    let stored = receive(&app, &dir, multipart).await?;
    let first = stored.first().map(Entry::resource).unwrap_or(Value::Null);
    Ok(axum::Json(first).into_response())
}

/// `POST /files/upload` (legacy): the `{"$id","value":[{"$id","properties":{…}}]}` list.
pub async fn legacy_upload(
    State(app): State<AppState>,
    uri: Uri,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<Response, PoolError> {
    let req = Request::new(&uri).with_api_version()?;
    let session = app.registry.get_or_create(req.identifier()?)?;
    let stored = receive(&app, &session.dir, multipart).await?;
    Ok(axum::Json(legacy_list(&stored)).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_that_could_escape_are_refused() {
        for bad in ["", ".", "..", "../x", "..x", "a/b", "a\\b", "a\0b"] {
            assert!(validate_name(bad).is_err(), "{bad:?} should be refused");
        }
        for good in ["a.txt", "x..y", ".hidden", "data 1 (copy).csv", "é.txt"] {
            assert!(validate_name(good).is_ok(), "{good:?} should be accepted");
        }
    }

    #[test]
    fn data_prefix_is_the_session_directory() {
        assert_eq!(strip_data_prefix("/mnt/data/a.txt"), "a.txt");
        assert_eq!(strip_data_prefix("a.txt"), "a.txt");
        assert_eq!(strip_data_prefix("mnt/dataX"), "mnt/dataX");
        assert!(directory(Path::new("/s"), Some("../x")).is_err());
        assert_eq!(
            directory(Path::new("/s"), Some("/mnt/data")).ok(),
            Some(PathBuf::from("/s"))
        );
        assert_eq!(
            directory(Path::new("/s"), Some("sub/dir")).ok(),
            Some(PathBuf::from("/s/sub/dir"))
        );
    }
}
