//! One session per workspace folder (or per file): its identifier, its transcript and its
//! queue. Runs of one session go in order through its queue; sessions run in parallel.

use std::future::Future;
use std::path::Path;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use futures::FutureExt;
use tokio::sync::mpsc;

use super::config::file_path;
use super::protocol::OUTPUT_SCHEME;
use super::{Inner, lock};
use crate::settings::{SessionScope, Settings};
use crate::transcript::Transcript;

/// A unit of work for a session's queue.
pub type Job = Pin<Box<dyn Future<Output = ()> + Send>>;

pub struct Session {
    /// What the identifier is derived from: a folder or a file path (or a non-file URI).
    pub key: String,
    pub output_uri: String,
    pub state: Mutex<SessionState>,
    queue: mpsc::UnboundedSender<Job>,
}

pub struct SessionState {
    pub identifier: String,
    /// The language of the last run (`python` before any): file commands on the local pool go
    /// to the pool of that language, where the session's files are.
    pub language: Option<String>,
    pub runs: u64,
    pub last_run_at: Option<String>,
    pub last_run: Option<Instant>,
    pub transcript: Transcript,
    /// The runs as the notebook export keeps them (the latest `MAX_RECORDED_RUNS`).
    pub history: Vec<crate::notebook::RunRecord>,
    /// What the pool last said about the session, to notice it was recycled.
    /// The `x-ms-session-guid` of the last run: a different one later means a new container.
    pub session_guid: Option<String>,
}

impl Session {
    /// Queues work behind the session's earlier runs. Returns false if the queue is gone.
    pub fn enqueue(&self, job: Job) -> bool {
        self.queue.send(job).is_ok()
    }

    pub fn identifier(&self) -> String {
        lock(&self.state).identifier.clone()
    }

    pub fn language(&self) -> String {
        lock(&self.state)
            .language
            .clone()
            .unwrap_or_else(|| "python".to_owned())
    }
}

/// The identity key and label of the session a document runs in.
pub fn session_key(uri: &str, settings: &Settings, folder: Option<&Path>) -> (String, String) {
    let path = file_path(uri);
    let name_of = |p: &Path| {
        p.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| p.display().to_string())
    };
    let (scope_key, label) = match (settings.session_scope, folder, path) {
        (SessionScope::Workspace, Some(folder), _) => {
            (format!("folder:{}", identity_text(folder)), name_of(folder))
        }
        (_, _, Some(path)) => (format!("file:{}", identity_text(&path)), name_of(&path)),
        // A document without a path (untitled) in file scope: its own session, within its
        // workspace so that two projects' "Untitled-1" never share one.
        (_, folder, None) => (
            match folder {
                Some(folder) => format!("uri:{}:{uri}", identity_text(folder)),
                None => format!("uri:{uri}"),
            },
            uri.rsplit('/').next().unwrap_or(uri).to_owned(),
        ),
    };
    let key = crate::identity::session_key(
        &settings.endpoint.identity(),
        settings.api.name(),
        &scope_key,
    );
    (key, label)
}

/// A path as it enters identifiers: [`identity_path`], spelled and case-folded by the platform's
/// rules (Windows and macOS ignore case: `C:\Proj` and `c:\proj` get one session).
pub fn identity_text(path: &Path) -> String {
    crate::identity::fold_path(&identity_path(path))
}

/// A path as it enters identifiers: symlinks resolved (the CLI's current directory is the
/// physical path) and no trailing separator, so one folder opened two ways is one session.
/// Remembered, since it costs file-system calls and runs on every run.
pub fn identity_path(path: &Path) -> std::path::PathBuf {
    static SEEN: std::sync::LazyLock<
        Mutex<std::collections::HashMap<std::path::PathBuf, std::path::PathBuf>>,
    > = std::sync::LazyLock::new(Mutex::default);
    if let Some(known) = lock(&SEEN).get(path) {
        return known.clone();
    }
    let resolved = std::fs::canonicalize(path).unwrap_or_else(|_| path.components().collect());
    let mut seen = lock(&SEEN);
    if seen.len() > 4096 {
        seen.clear();
    }
    seen.insert(path.to_owned(), resolved.clone());
    resolved
}

/// A session's queue: jobs run one after another. A job that panics (a bug) is reported and
/// the queue goes on, so one bad run never stops the session's later runs.
fn spawn_queue() -> mpsc::UnboundedSender<Job> {
    let (queue, mut jobs) = mpsc::unbounded_channel::<Job>();
    tokio::spawn(async move {
        while let Some(job) = jobs.recv().await {
            if std::panic::AssertUnwindSafe(job)
                .catch_unwind()
                .await
                .is_err()
            {
                tracing::error!("a run failed inside the server (a bug); the session goes on");
            }
        }
    });
    queue
}

impl Inner {
    /// The session for a key, created (with its queue) on first use.
    pub(super) fn session(&self, key: &str, label: &str) -> Result<Arc<Session>, String> {
        if let Some(session) = lock(&self.sessions).get(key) {
            return Ok(session.clone());
        }
        let identifier = self.runtime.identity()?.identifier(key);
        let short: String = identifier
            .chars()
            .rev()
            .take(8)
            .collect::<String>()
            .chars()
            .rev()
            .collect();
        let safe_label: String = label
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.' {
                    c
                } else {
                    '_'
                }
            })
            .take(60)
            .collect();
        let output_uri = format!("{OUTPUT_SCHEME}://output/{safe_label}-{short}.log");
        let queue = spawn_queue();
        let header = format!(
            "Azure session output for {label}\nSession identifier: {identifier}\nEach run is appended below, newest last.\n"
        );
        let session = Arc::new(Session {
            key: key.to_owned(),
            output_uri,
            state: Mutex::new(SessionState {
                identifier,
                language: None,
                runs: 0,
                last_run_at: None,
                last_run: None,
                transcript: Transcript::new(header),
                history: Vec::new(),
                session_guid: None,
            }),
            queue,
        });
        // Another task may have created it meanwhile: keep the first.
        let mut sessions = lock(&self.sessions);
        Ok(sessions.entry(key.to_owned()).or_insert(session).clone())
    }

    /// The session's identifier as the identity store has it now: another editor on the same
    /// folder (VS Code and Neovim share sessions) may have reset it. A change is adopted and
    /// noted in the transcript.
    pub(super) fn refresh_identifier(&self, session: &Session) -> String {
        let Ok(store) = self.runtime.identity() else {
            return session.identifier();
        };
        let current = store.identifier(&session.key);
        let mut state = lock(&session.state);
        if state.identifier != current {
            state.identifier = current.clone();
            state.session_guid = None;
            state.transcript.note(&format!(
                "The session was reset from another editor: the new identifier is {current}; earlier state is gone."
            ));
        }
        current
    }

    /// The session of a document under its current settings.
    pub(super) fn session_for(&self, uri: &str) -> Result<(Arc<Session>, Settings), String> {
        let (settings, folder) = {
            let config = lock(&self.config);
            // A document without a path (untitled) belongs to the (first) workspace folder.
            let folder = match file_path(uri) {
                Some(_) => config.folder_of(uri).map(|(_, p)| p.clone()),
                None => config.folders.first().map(|(_, p)| p.clone()),
            };
            (config.settings_for(uri), folder)
        };
        let (key, label) = session_key(uri, &settings, folder.as_deref());
        Ok((self.session(&key, &label)?, settings))
    }

    /// The session a command without a document means: the first folder's.
    pub(super) fn default_session(&self) -> Result<(Arc<Session>, Settings), String> {
        let (settings, folder) = {
            let config = lock(&self.config);
            (config.global().clone(), config.folders.first().cloned())
        };
        match folder {
            Some((uri, path)) => {
                let settings = lock(&self.config).settings_for(&uri);
                let (key, label) = session_key(&uri, &settings, Some(&path));
                Ok((self.session(&key, &label)?, settings))
            }
            None => {
                // No folder: the session of the only open document, if there is one.
                let only = {
                    let docs = lock(&self.documents);
                    docs.single_uri()
                };
                match only {
                    Some(uri) => self.session_for(&uri),
                    None => {
                        let _ = settings;
                        Err(
                            "no workspace folder is open: pass {\"uri\": …} of a document"
                                .to_owned(),
                        )
                    }
                }
            }
        }
    }

    /// Creates the session of every workspace folder (a no-op for those that exist).
    pub(super) fn open_folder_sessions(&self) {
        let folders = lock(&self.config).folders.clone();
        for (uri, _) in folders {
            let _ = self.session_for(&uri);
        }
    }

    pub(super) fn transcript_text(&self, uri: &str) -> Option<String> {
        let sessions = lock(&self.sessions);
        let wanted = uri.trim_end_matches('/');
        sessions
            .values()
            .find(|s| s.output_uri == wanted)
            .map(|s| lock(&s.state).transcript.text())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    #[test]
    fn keys_by_scope() {
        let mut settings = Settings::default();
        let folder = PathBuf::from("/w/proj");
        let (key, label) = session_key("file:///w/proj/a.py", &settings, Some(&folder));
        // As the platform spells and folds it (`\w\proj` on Windows).
        let w_proj = crate::identity::fold_path(Path::new("/w/proj"));
        assert_eq!(
            (key.as_str(), label.as_str()),
            (format!("none executions\nfolder:{w_proj}").as_str(), "proj")
        );
        let (loose, _) = session_key("file:///tmp/x.py", &settings, None);
        let tmp_x = crate::identity::fold_path(Path::new("/tmp/x.py"));
        assert_eq!(loose, format!("none executions\nfile:{tmp_x}"));
        settings.session_scope = SessionScope::File;
        let (per_file, label) = session_key("file:///w/proj/a.py", &settings, Some(&folder));
        let a_py = crate::identity::fold_path(Path::new("/w/proj/a.py"));
        assert_eq!(
            (per_file.as_str(), label.as_str()),
            (format!("none executions\nfile:{a_py}").as_str(), "a.py")
        );
        let (untitled, _) = session_key("untitled:Untitled-1", &settings, None);
        assert_eq!(untitled, "none executions\nuri:untitled:Untitled-1");
    }

    /// Windows: one folder however the editor spells its drive and case, one session.
    #[test]
    #[cfg(windows)]
    fn windows_folders_are_one_session_whatever_their_case() {
        let settings = Settings::default();
        let upper = PathBuf::from(r"C:\Proj");
        let lower = PathBuf::from(r"c:\proj");
        let (a, _) = session_key("file:///c%3A/Proj/a.py", &settings, Some(&upper));
        let (b, _) = session_key("file:///C:/proj/a.py", &settings, Some(&lower));
        assert_eq!(a, b);
        let mut per_file = settings.clone();
        per_file.session_scope = SessionScope::File;
        let (a, _) = session_key("file:///c%3A/Proj/A.py", &per_file, None);
        let (b, _) = session_key("file:///C:/proj/a.PY", &per_file, None);
        assert_eq!(a, b);
        let (other, _) = session_key("file:///d%3A/proj/a.py", &per_file, None);
        assert_ne!(a, other);
    }

    #[tokio::test]
    async fn a_panicking_job_does_not_stop_the_queue() {
        let queue = spawn_queue();
        queue
            .send(Box::pin(async { panic!("a bug in one run") }))
            .unwrap();
        let (done, ran) = tokio::sync::oneshot::channel();
        queue
            .send(Box::pin(async move {
                let _ = done.send(());
            }))
            .unwrap();
        tokio::time::timeout(std::time::Duration::from_secs(5), ran)
            .await
            .expect("the next job ran")
            .unwrap();
    }

    #[test]
    fn keys_depend_on_the_pool() {
        let folder = PathBuf::from("/w/proj");
        let key_for = |endpoint: &str, api: crate::sessions::Api| {
            let mut settings = Settings::default();
            settings.endpoint = crate::settings::Endpoint::parse(endpoint).unwrap();
            settings.api = api;
            session_key("file:///w/proj/a.py", &settings, Some(&folder)).0
        };
        use crate::sessions::Api;
        let real = key_for(
            "https://eastus.dynamicsessions.io/subscriptions/s/p",
            Api::Executions,
        );
        assert_eq!(
            real,
            key_for(
                "HTTPS://EastUS.dynamicsessions.io:443/subscriptions/s/p/",
                Api::Executions
            )
        );
        assert_ne!(real, key_for("local", Api::Executions));
        assert_ne!(real, key_for("http://127.0.0.1:8080", Api::Executions));
        assert_ne!(
            real,
            key_for(
                "https://eastus.dynamicsessions.io/subscriptions/s/q",
                Api::Executions
            )
        );
        assert_ne!(
            real,
            key_for(
                "https://eastus.dynamicsessions.io/subscriptions/s/p",
                Api::Legacy
            )
        );
    }
}
