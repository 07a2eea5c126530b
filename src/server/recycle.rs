//! Noticing that a session lost its state since the last run, and saying so once: the pool
//! recycled the session (idle past its cooldown, or after a timeout), or the local pool replaced
//! the session's interpreter (which it reports at the start of the run's stderr).

use std::sync::Arc;
use std::time::Duration;

use super::runtime::Resolved;
use super::sessions::Session;
use super::{Inner, lock};

/// Idle longer than this, a pool may have recycled the session (Azure's shortest cooldown is 300 s).
const RECYCLE_CHECK_AFTER: Duration = Duration::from_secs(240);

const RECYCLED: &str = "The session was recycled (its cooldown expired or the pool replaced it): variables and files from earlier runs are gone.";
/// How the local pool starts the stderr of the first run on a fresh interpreter.
const POOL_REPLACED: &str = "[local pool] The previous interpreter of this session ended (";

impl Inner {
    /// Asks the pool whether the session was recycled since we last saw it (only when it may have been).
    pub(super) async fn check_recycled(
        &self,
        session: &Session,
        resolved: &Resolved,
        identifier: &str,
    ) -> Vec<String> {
        let (due, seen) = {
            let state = lock(&session.state);
            let idle = state
                .last_run
                .is_some_and(|t| t.elapsed() > RECYCLE_CHECK_AFTER);
            (idle || state.last_timed_out, state.seen.clone())
        };
        let Some(seen) = seen.filter(|_| due) else {
            return Vec::new();
        };
        let now = resolved
            .http
            .get_session(&resolved.target, &resolved.credentials, identifier)
            .await;
        let recycled = match &now {
            Ok(None) => true,
            Ok(Some(now)) => {
                now.created_at != seen.created_at || (now.etag.is_some() && now.etag != seen.etag)
            }
            Err(_) => false,
        };
        if let Ok(now) = now {
            let mut state = lock(&session.state);
            state.seen = now;
            state.last_timed_out = false;
        }
        if recycled {
            vec![RECYCLED.to_owned()]
        } else {
            Vec::new()
        }
    }
}

/// Turns the local pool's note about a replaced interpreter into the run's one note about it.
/// The pool renews the session's `createdAt`/`etag` when it replaces the interpreter, so the
/// recycle check saw the same event; and its "files are gone" is wrong there: the local pool
/// keeps the session's files.
pub(super) fn take_pool_note(stderr: &mut String, notes: &mut Vec<String>) {
    let Some(rest) = stderr.strip_prefix(POOL_REPLACED) else {
        return;
    };
    let (line, after) = rest.split_once('\n').unwrap_or((rest, ""));
    let reason = line.split_once("); ").map_or(line, |(reason, _)| reason);
    let note = format!(
        "The local pool replaced the session's interpreter ({reason}): variables from earlier runs are gone; the session's files are kept."
    );
    *stderr = after.to_owned();
    notes.retain(|n| n != RECYCLED);
    notes.push(note);
}

/// Records what the pool says about a new session, in the background.
pub(super) fn remember_session(session: Arc<Session>, resolved: Resolved, identifier: String) {
    tokio::spawn(async move {
        if let Ok(Some(description)) = resolved
            .http
            .get_session(&resolved.target, &resolved.credentials, &identifier)
            .await
        {
            lock(&session.state).seen = Some(description);
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pools_note_replaces_the_recycle_note() {
        let mut stderr = "[local pool] The previous interpreter of this session ended (it was stopped because an execution timed out after 1 s); this is a fresh interpreter: earlier variables are gone.\nTraceback…\n".to_owned();
        let mut notes = vec![RECYCLED.to_owned()];
        take_pool_note(&mut stderr, &mut notes);
        assert_eq!(stderr, "Traceback…\n");
        assert_eq!(
            notes,
            vec![
                "The local pool replaced the session's interpreter (it was stopped because an execution timed out after 1 s): variables from earlier runs are gone; the session's files are kept."
            ]
        );
        // Anywhere else it is the code's output.
        let mut stderr = format!("x {POOL_REPLACED}");
        take_pool_note(&mut stderr, &mut notes);
        assert!(stderr.starts_with("x "));
        assert_eq!(notes.len(), 1);
    }
}
