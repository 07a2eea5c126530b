//! Code actions, code lenses, inlay hints and hovers: what the editor shows before and after
//! runs.

use serde_json::json;
use tower_lsp_server::ls_types::*;

use super::protocol::{RUN, RUN_CELL};
use super::{Inner, lock};
use crate::code;

impl Inner {
    /// The cell-marker lines of an open document (`None` when it is not open). Read in place:
    /// a large document is not copied for every request.
    fn cell_markers(&self, uri: &Uri) -> Option<Vec<u32>> {
        let settings = lock(&self.config).settings_for(uri.as_str());
        let documents = lock(&self.documents);
        let doc = documents.get(uri.as_str())?;
        Some(code::cell_markers(&doc.text, &settings.cell_marker))
    }

    pub(super) fn code_actions(&self, uri: &Uri, range: Range) -> Vec<CodeActionOrCommand> {
        let Some(markers) = self.cell_markers(uri) else {
            return Vec::new();
        };
        let mut actions = Vec::new();
        let mut action = |title: String, command: &str, argument: serde_json::Value| {
            actions.push(CodeActionOrCommand::CodeAction(CodeAction {
                title: title.clone(),
                command: Some(Command::new(
                    title,
                    command.to_owned(),
                    Some(vec![argument]),
                )),
                ..Default::default()
            }));
        };
        let selection_title = if range.start == range.end {
            format!(
                "Run line {} in Azure session",
                range.start.line.saturating_add(1)
            )
        } else {
            "Run selection in Azure session".to_owned()
        };
        action(selection_title, RUN, json!({ "uri": uri, "range": range }));
        if !markers.is_empty() {
            action(
                "Run cell in Azure session".to_owned(),
                RUN_CELL,
                json!({ "uri": uri, "position": range.start }),
            );
        }
        action(
            "Run file in Azure session".to_owned(),
            RUN,
            json!({ "uri": uri }),
        );
        actions
    }

    pub(super) fn code_lenses(&self, uri: &Uri) -> Vec<CodeLens> {
        let Some(markers) = self.cell_markers(uri) else {
            return Vec::new();
        };
        let at_line = |line: u32| Range::new(Position::new(line, 0), Position::new(line, 0));
        let mut lenses: Vec<CodeLens> = markers
            .into_iter()
            .map(|line| CodeLens {
                range: at_line(line),
                command: Some(Command::new(
                    "▶ Run cell".to_owned(),
                    RUN_CELL.to_owned(),
                    Some(vec![
                        json!({ "uri": uri, "position": Position::new(line, 0) }),
                    ]),
                )),
                data: None,
            })
            .collect();
        for mark in lock(&self.marks).for_doc(uri.as_str()) {
            if let Some(lens) = &mark.lens {
                let range = Range::new(
                    Position::new(mark.first_line, 0),
                    Position::new(mark.last_line, u32::MAX),
                );
                lenses.push(CodeLens {
                    range: at_line(mark.first_line),
                    command: Some(Command::new(
                        lens.clone(),
                        RUN.to_owned(),
                        Some(vec![json!({ "uri": uri, "range": range })]),
                    )),
                    data: None,
                });
            }
        }
        lenses
    }

    /// The values runs left, at the end of each run's last line (in UTF-16 units, as LSP
    /// counts), for the lines asked about.
    pub(super) fn inlay_hints(&self, uri: &Uri, range: Range) -> Vec<InlayHint> {
        let marks = lock(&self.marks);
        let documents = lock(&self.documents);
        let Some(doc) = documents.get(uri.as_str()) else {
            return Vec::new();
        };
        marks
            .for_doc(uri.as_str())
            .iter()
            .filter(|m| range.start.line <= m.last_line && m.last_line <= range.end.line)
            .filter_map(|m| {
                let label = m.inline.clone()?;
                let line = doc.text.split('\n').nth(m.last_line as usize)?;
                let end = line.trim_end_matches('\r').encode_utf16().count() as u32;
                Some(InlayHint {
                    position: Position::new(m.last_line, end),
                    label: InlayHintLabel::String(label),
                    kind: None,
                    text_edits: None,
                    tooltip: None,
                    padding_left: Some(true),
                    padding_right: None,
                    data: None,
                })
            })
            .collect()
    }

    pub(super) fn hover(&self, uri: &Uri, position: Position) -> Option<Hover> {
        let marks = lock(&self.marks);
        let mark = marks.for_doc(uri.as_str()).iter().rev().find(|m| {
            m.hover.is_some() && m.first_line <= position.line && position.line <= m.last_line
        })?;
        Some(Hover {
            contents: HoverContents::Markup(MarkupContent {
                kind: MarkupKind::Markdown,
                value: mark.hover.clone()?,
            }),
            range: None,
        })
    }
}
