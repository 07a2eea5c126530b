//! Noticing that a session lost its state since the last run, and saying so once: the pool
//! recycled the session (idle past its cooldown, or after a timeout), or the local pool replaced
//! the session's interpreter (which it reports at the start of the run's stderr).

use super::lock;
use super::sessions::Session;
use crate::sessions::Execution;

const RECYCLED: &str = "The session was recycled (its cooldown expired or the pool replaced it): variables and files from earlier runs are gone.";
/// How the local pool starts the stderr of the first run on a fresh interpreter.
const POOL_REPLACED: &str = "[local pool] The previous interpreter of this session ended (";

/// Notes a recycled session from the `x-ms-session-guid` the pool sends with each run: a new
/// GUID for the same identifier is a new container. (No `GET /session` is sent for this: on a
/// pool where it may allocate, it would bill a session the user did not run.)
pub(super) fn notice_recycling(session: &Session, execution: &Execution, notes: &mut Vec<String>) {
    let Some(now) = execution.session_guid.as_deref() else {
        return;
    };
    let mut state = lock(&session.state);
    if state
        .session_guid
        .as_deref()
        .is_some_and(|before| before != now)
    {
        notes.push(RECYCLED.to_owned());
    }
    state.session_guid = Some(now.to_owned());
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
