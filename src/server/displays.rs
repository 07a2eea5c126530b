//! A run's displays as the editor gets them: binary data (PNG, JPEG) saved to private files and
//! named by URI, text (HTML, Markdown, JSON, SVG) inline unless it is large.

use std::path::{Path, PathBuf};

use super::protocol::DisplayOut;
use crate::sessions::displays::{Content, Display};

/// Text displays larger than this are saved to a file too, not sent inline.
const MAX_INLINE_TEXT_BYTES: usize = 1 << 20;

/// Saves what must be saved (blocking file I/O: call it off the LSP thread).
pub(super) fn save_displays(displays: Vec<Display>, dir: &Path) -> Vec<DisplayOut> {
    displays
        .into_iter()
        .map(|display| {
            let extension = display.extension();
            match display.content {
                Content::Text(text) if text.len() <= MAX_INLINE_TEXT_BYTES => DisplayOut {
                    mime_type: display.mime_type,
                    uri: None,
                    text: Some(text),
                    path: None,
                },
                Content::Text(text) => saved(display.mime_type, extension, text.as_bytes(), dir),
                Content::Bytes(bytes) => saved(display.mime_type, extension, &bytes, dir),
            }
        })
        .collect()
}

fn saved(mime_type: String, extension: &str, bytes: &[u8], dir: &Path) -> DisplayOut {
    let path = crate::private::write_new(dir, "display", extension, bytes)
        .map_err(|error| tracing::warn!(%error, "could not save a display"))
        .ok();
    DisplayOut {
        mime_type,
        uri: path.as_deref().and_then(file_uri),
        text: None,
        path,
    }
}

fn file_uri(path: &Path) -> Option<String> {
    reqwest::Url::from_file_path(path).ok().map(String::from)
}

/// How the transcript names a display: where an image was saved, how long a text is.
pub(super) fn describe(display: &DisplayOut) -> String {
    match (&display.path, &display.text) {
        (Some(path), _) => format!("{} saved to {}", display.mime_type, path.display()),
        (None, Some(text)) if display.mime_type == "text/markdown" => {
            format!("{}:\n{}", display.mime_type, text.trim_end())
        }
        (None, Some(text)) => format!(
            "{}, {} characters (shown in the editor's results)",
            display.mime_type,
            text.chars().count()
        ),
        (None, None) => format!("{} (could not be saved)", display.mime_type),
    }
}

/// The first saved image: the file a legacy image result names as `savedTo`.
pub(super) fn first_image(displays: &[DisplayOut]) -> Option<PathBuf> {
    displays
        .iter()
        .filter(|d| d.mime_type.starts_with("image/"))
        .find_map(|d| d.path.clone())
}
