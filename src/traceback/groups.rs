//! Python 3.11+ exception groups (`ExceptionGroup`, `asyncio.TaskGroup`): each level of
//! sub-exceptions is drawn inside `|` margins, indented two more columns per level, with
//! `+-+---- 1 ----` / `+---- 2 ----` separators between them.

use std::sync::LazyLock;

use regex::Regex;

static GROUP_START: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^(\s*)\+ (Exception Group Traceback.*)$").expect("valid"));
static SEPARATOR: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^\s*\+-").expect("valid"));
static MARGIN: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^(\s*)\| ?(.*)$").expect("valid"));

/// The part of a group's traceback that explains its innermost sub-exception.
pub struct Selection {
    /// The lines of the enclosing groups and of the sub-exception, margins removed: their frames
    /// lead from the run's code to the failure.
    pub context: Vec<String>,
    /// The sub-exception's own lines: its frames, type and message.
    pub leaf: Vec<String>,
}

struct Segment {
    depth: usize,
    lines: Vec<String>,
}

/// `None` unless the text holds an exception group.
pub fn select(lines: &[&str]) -> Option<Selection> {
    if !lines.iter().any(|l| GROUP_START.is_match(l)) {
        return None;
    }
    let mut segments: Vec<Segment> = Vec::new();
    let mut current: Option<Segment> = None;
    for line in lines {
        if let Some(c) = GROUP_START.captures(line) {
            // A new group always starts a segment of its own.
            segments.extend(current.take());
            add(&mut segments, &mut current, depth_of(&c[1]), &c[2]);
        } else if SEPARATOR.is_match(line) {
            segments.extend(current.take());
        } else if let Some(c) = MARGIN.captures(line) {
            add(&mut segments, &mut current, depth_of(&c[1]), &c[2]);
        } else {
            add(&mut segments, &mut current, 0, line);
        }
    }
    segments.extend(current.take());

    // The innermost sub-exception (the first of the deepest level), then the groups around it.
    let deepest = segments.iter().map(|s| s.depth).max().filter(|&d| d > 0)?;
    let leaf = segments.iter().position(|s| s.depth == deepest)?;
    let mut chain = vec![leaf];
    let mut depth = deepest;
    for i in (0..leaf).rev() {
        let d = segments[i].depth;
        if d >= 1 && d < depth {
            chain.push(i);
            depth = d;
        }
    }
    chain.reverse();
    Some(Selection {
        context: chain
            .iter()
            .flat_map(|&i| segments[i].lines.iter().cloned())
            .collect(),
        leaf: segments[leaf].lines.clone(),
    })
}

/// Adds a line to the current segment, or starts a new one when its level differs.
fn add(segments: &mut Vec<Segment>, current: &mut Option<Segment>, depth: usize, line: &str) {
    match current {
        Some(segment) if segment.depth == depth => segment.lines.push(line.to_owned()),
        _ => segments.extend(current.replace(Segment {
            depth,
            lines: vec![line.to_owned()],
        })),
    }
}

/// The nesting level of a margin at this indentation (`  |` is level 1).
fn depth_of(indent: &str) -> usize {
    indent.len() / 2
}
