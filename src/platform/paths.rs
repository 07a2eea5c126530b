//! `file:` URIs and paths as each platform spells them, as pure text functions.
//!
//! Editors send Windows files as `file:///c%3A/Users/ann/a.py` (VS Code: lower-case drive, the
//! colon percent-encoded), `file:///C:/Users/ann/a.py` (others) and network shares as
//! `file://server/share/a.py`. Windows and macOS file systems ignore case by default, so a
//! folder's identity (which session it gets) is folded: `C:\Proj` and `c:\proj` are one folder.

use super::Os;

/// The local path of a `file:` URI as `os` spells it; `None` for other schemes, for a host on
/// a Unix system (no UNC there), and for a URI that does not decode to UTF-8 text.
pub fn file_uri_to_path(uri: &str, os: Os) -> Option<String> {
    let scheme_len = "file:".len();
    if uri.len() < scheme_len || !uri[..scheme_len].eq_ignore_ascii_case("file:") {
        return None;
    }
    let rest = &uri[scheme_len..];
    let rest = rest.split(['?', '#']).next().unwrap_or(rest);
    let (authority, path) = match rest.strip_prefix("//") {
        Some(after) => match after.find('/') {
            Some(i) => (&after[..i], &after[i..]),
            None => (after, "/"),
        },
        None => ("", rest),
    };
    let authority = percent_decode(authority)?;
    let path = percent_decode(path)?;
    if path.contains('\0') {
        return None;
    }
    let local = authority.is_empty() || authority.eq_ignore_ascii_case("localhost");
    match os {
        Os::Windows => {
            if !local {
                // A share: \\server\share\dir\file.
                let tail = path.trim_start_matches('/').replace('/', "\\");
                return Some(format!("\\\\{authority}\\{tail}"));
            }
            let trimmed = path.trim_start_matches('/');
            let b = trimmed.as_bytes();
            if b.len() >= 2 && b[0].is_ascii_alphabetic() && matches!(b[1], b':' | b'|') {
                let drive = (b[0] as char).to_ascii_uppercase();
                let tail = trimmed[2..].replace('/', "\\");
                let tail = if tail.is_empty() {
                    "\\".to_owned()
                } else {
                    tail
                };
                return Some(format!("{drive}:{tail}"));
            }
            // `file:////server/share/…` (some editors' spelling of a share).
            if let Some(unc) = path.strip_prefix("//") {
                return Some(format!("\\\\{}", unc.replace('/', "\\")));
            }
            Some(path.replace('/', "\\"))
        }
        Os::Linux | Os::MacOs => local.then_some(path),
    }
}

/// The text that identifies a folder or file across the ways it is spelled: on Windows without
/// the `\\?\` prefix that canonicalizing adds, with `\` separators, no trailing separator, and
/// folded to lower case; on macOS folded to lower case; on Linux as it is (its file systems are
/// case-sensitive).
pub fn identity_text(path: &str, os: Os) -> String {
    match os {
        Os::Windows => {
            let path = path.replace('/', "\\");
            let path = if let Some(share) = path.strip_prefix(r"\\?\UNC\") {
                format!(r"\\{share}")
            } else if let Some(local) = path.strip_prefix(r"\\?\") {
                local.to_owned()
            } else {
                path
            };
            let trimmed = path.trim_end_matches('\\');
            // Keep the separator of a drive's root (`c:\`).
            let kept = if trimmed.len() == 2 && trimmed.ends_with(':') {
                format!("{trimmed}\\")
            } else if trimmed.is_empty() {
                path.clone()
            } else {
                trimmed.to_owned()
            };
            kept.to_lowercase()
        }
        Os::MacOs => {
            let trimmed = path.trim_end_matches('/');
            if trimmed.is_empty() { path } else { trimmed }.to_lowercase()
        }
        Os::Linux => {
            let trimmed = path.trim_end_matches('/');
            if trimmed.is_empty() { path } else { trimmed }.to_owned()
        }
    }
}

/// Whether `path` is `folder` or inside it, by `os`'s rules for spelling and case.
pub fn is_within(path: &str, folder: &str, os: Os) -> bool {
    let (path, folder) = (identity_text(path, os), identity_text(folder, os));
    let separator = if os == Os::Windows { '\\' } else { '/' };
    path == folder
        || path
            .strip_prefix(folder.as_str())
            .is_some_and(|rest| folder.ends_with(separator) || rest.starts_with(separator))
}

/// Decodes `%XX` escapes; `None` when the result is not UTF-8.
fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Some(byte) = text
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(byte);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn win(uri: &str) -> Option<String> {
        file_uri_to_path(uri, Os::Windows)
    }

    #[test]
    fn vs_code_windows_uris_decode_to_drive_paths() {
        assert_eq!(
            win("file:///c%3A/Users/Ann/proj/a.py").as_deref(),
            Some(r"C:\Users\Ann\proj\a.py")
        );
        assert_eq!(
            win("file:///C:/Users/Ann/My%20Proj/a.py").as_deref(),
            Some(r"C:\Users\Ann\My Proj\a.py")
        );
        assert_eq!(win("file:///d%3a/").as_deref(), Some(r"D:\"));
        assert_eq!(win("file:///d:").as_deref(), Some(r"D:\"));
        assert_eq!(
            win("file:///C|/old/style.py").as_deref(),
            Some(r"C:\old\style.py")
        );
        assert_eq!(
            win("FILE://localhost/c%3A/x.py?query#frag").as_deref(),
            Some(r"C:\x.py")
        );
        assert_eq!(
            win("file:///c%3A/%E2%82%AC/na%C3%AFve.py").as_deref(),
            Some("C:\\€\\naïve.py")
        );
    }

    #[test]
    fn unc_uris_decode_to_share_paths() {
        assert_eq!(
            win("file://server/share/dir/a.py").as_deref(),
            Some(r"\\server\share\dir\a.py")
        );
        assert_eq!(
            win("file:////server/share/a.py").as_deref(),
            Some(r"\\server\share\a.py")
        );
        assert_eq!(win("file://server").as_deref(), Some(r"\\server\"));
    }

    #[test]
    fn unix_uris_and_what_is_refused() {
        let unix = |u| file_uri_to_path(u, Os::Linux);
        assert_eq!(
            unix("file:///home/ann/a%20b.py").as_deref(),
            Some("/home/ann/a b.py")
        );
        assert_eq!(unix("file://localhost/tmp/x").as_deref(), Some("/tmp/x"));
        assert_eq!(unix("file://server/share/x"), None, "no shares on Unix");
        assert_eq!(unix("untitled:Untitled-1"), None);
        assert_eq!(unix("file:///bad/%FF"), None, "not UTF-8");
        assert_eq!(unix("file:///nul/%00"), None);
        assert_eq!(unix("file:///trailing%2"), Some("/trailing%2".into()));
        assert_eq!(unix("file:"), Some(String::new()));
        assert_eq!(unix("fil"), None);
        assert_eq!(
            file_uri_to_path("file:///Users/Ann/Proj/a.py", Os::MacOs).as_deref(),
            Some("/Users/Ann/Proj/a.py")
        );
    }

    #[test]
    fn windows_identity_folds_case_prefixes_and_separators() {
        let id = |p| identity_text(p, Os::Windows);
        assert_eq!(id(r"C:\Proj"), id(r"c:\proj"));
        assert_eq!(id(r"C:\Proj\"), id(r"c:\proj"));
        assert_eq!(id(r"\\?\C:\Proj"), id(r"c:\proj"));
        assert_eq!(id("C:/Proj/Sub"), id(r"c:\PROJ\sub"));
        assert_eq!(id(r"\\?\UNC\Server\Share\P"), id(r"\\server\share\p"));
        assert_eq!(id(r"C:\"), r"c:\");
        assert_eq!(id(r"C:\\"), r"c:\");
        assert_ne!(id(r"C:\Proj"), id(r"C:\Proj2"));
        assert_ne!(id(r"C:\Proj"), id(r"D:\Proj"));
    }

    #[test]
    fn macos_folds_case_and_linux_does_not() {
        assert_eq!(
            identity_text("/Users/Ann/Proj/", Os::MacOs),
            identity_text("/users/ann/proj", Os::MacOs)
        );
        assert_ne!(
            identity_text("/home/Ann/Proj", Os::Linux),
            identity_text("/home/ann/proj", Os::Linux)
        );
        assert_eq!(
            identity_text("/home/ann/proj/", Os::Linux),
            "/home/ann/proj"
        );
        assert_eq!(identity_text("/", Os::Linux), "/");
    }

    #[test]
    fn within_a_folder_by_each_platforms_rules() {
        assert!(is_within(r"C:\Proj\src\a.py", r"c:\proj", Os::Windows));
        assert!(is_within(r"c:\proj", r"C:\Proj\", Os::Windows));
        assert!(!is_within(r"C:\Project\a.py", r"C:\Proj", Os::Windows));
        assert!(is_within(r"D:\a.py", r"d:\", Os::Windows));
        assert!(is_within("/w/proj/a.py", "/w/proj", Os::Linux));
        assert!(!is_within("/w/Proj/a.py", "/w/proj", Os::Linux));
        assert!(!is_within("/w/projx/a.py", "/w/proj", Os::Linux));
        assert!(is_within("/a.py", "/", Os::Linux));
        assert!(is_within("/W/Proj/a.py", "/w/proj", Os::MacOs));
    }
}
