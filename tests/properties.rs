//! Property tests: the response parser, the traceback mapper and the range-to-text extraction
//! never panic, and what they map always lies inside the document.

use azure_sessions_lsp::code::{self, Pos, Target};
use azure_sessions_lsp::sessions::response;
use azure_sessions_lsp::traceback;
use proptest::prelude::*;
use regex::Regex;
use serde_json::Value;

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| Value::Number(n.into())),
        any::<f64>().prop_filter_map("finite", |f| serde_json::Number::from_f64(f)
            .map(Value::Number)),
        ".{0,20}".prop_map(Value::String),
        prop_oneof![
            Just("Success"),
            Just("Succeeded"),
            Just("Failed"),
            Just("0"),
            Just("1")
        ]
        .prop_map(|s| Value::String(s.into())),
    ];
    leaf.prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec(
                (
                    prop_oneof![
                        Just("properties".to_owned()),
                        Just("status".to_owned()),
                        Just("result".to_owned()),
                        Just("stdout".to_owned()),
                        Just("stderr".to_owned()),
                        Just("executionResult".to_owned()),
                        Just("executionTimeInMilliseconds".to_owned()),
                        Just("run".to_owned()),
                        Just("code".to_owned()),
                        Just("error".to_owned()),
                        Just("value".to_owned()),
                        "[a-z$]{1,8}",
                    ],
                    inner
                ),
                0..6
            )
            .prop_map(|pairs| Value::Object(pairs.into_iter().collect())),
        ]
    })
}

/// Lines that look like pieces of tracebacks of every kind, in any order.
fn traceback_text() -> impl Strategy<Value = String> {
    let line = prop_oneof![
        (0u32..60, "[a-z_<>]{1,8}")
            .prop_map(|(n, f)| format!("  File \"<string>\", line {n}, in {f}")),
        (0u32..60).prop_map(|n| format!("  File \"/usr/lib/python3/x.py\", line {n}, in g")),
        (0u32..9, 0u32..60)
            .prop_map(|(c, n)| format!("Cell \u{1b}[0;32mIn[{c}], line {n}\u{1b}[0m")),
        (0u32..9, 0u32..60).prop_map(|(c, n)| format!("Input In [{c}], line {n}")),
        (0u32..60).prop_map(|n| format!("----> {n} x")),
        (0u32..60, 0u32..40)
            .prop_map(|(n, c)| format!("    at f (evalmachine.<anonymous>:{n}:{c})")),
        (0u32..60).prop_map(|n| format!("evalmachine.<anonymous>:{n}")),
        Just("Traceback (most recent call last):".to_owned()),
        Just("ZeroDivisionError: division by zero".to_owned()),
        Just("TypeError: bad".to_owned()),
        ".{0,30}",
    ];
    prop::collection::vec(line, 0..12).prop_map(|lines| lines.join("\n"))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn the_response_parser_never_panics_on_bytes(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        let _ = response::parse_execution(&bytes);
        let _ = response::parse_file_list(&bytes);
        let _ = response::parse_uploaded_file(&bytes);
        let _ = response::parse_session(&bytes);
    }

    #[test]
    fn the_response_parser_never_panics_on_json(value in json_value()) {
        let text = value.to_string();
        if let Ok(execution) = response::parse_execution(text.as_bytes()) {
            // A status is always read as one of the two.
            prop_assert!(matches!(execution.status, response::ExecutionStatus::Succeeded | response::ExecutionStatus::Failed));
        }
        let _ = response::parse_file_list(text.as_bytes());
    }

    #[test]
    fn traceback_lines_always_lie_in_the_code(stderr in traceback_text(), code_lines in 1u32..40) {
        let code = "x = 1\n".repeat(code_lines as usize);
        let lines = code.split('\n').count() as u32;
        let failure = traceback::parse(&stderr, &code);
        if let Some(line) = failure.innermost_code_line() {
            prop_assert!(line >= 1 && line <= lines, "line {} of {}", line, lines);
        }
        for frame in &failure.frames {
            if let Some(line) = frame.code_line {
                prop_assert!(line >= 1 && line <= lines);
            }
        }
    }

    #[test]
    fn tracebacks_of_arbitrary_text_never_panic(stderr in ".{0,200}", code in ".{0,100}") {
        let _ = traceback::parse(&stderr, &code);
    }

    #[test]
    fn extraction_stays_inside_the_document(
        text in "(\\PC{0,12}\n){0,8}\\PC{0,12}",
        sl in 0u32..12, sc in 0u32..20, el in 0u32..12, ec in 0u32..20,
        big in any::<bool>(),
    ) {
        let marker = Regex::new(azure_sessions_lsp::settings::DEFAULT_CELL_MARKER).unwrap();
        let last = text.split('\n').count() as u32 - 1;
        let (sl, el) = if big { (sl.saturating_mul(1 << 28), el.saturating_mul(1 << 28)) } else { (sl, el) };
        let targets = [
            Target::Range(Pos { line: sl, character: sc }, Pos { line: el, character: ec }),
            Target::Cell(sl),
            Target::File,
        ];
        for target in targets {
            let snippet = code::extract(&text, target, &marker).expect("always something to run");
            prop_assert!(snippet.first_line <= snippet.last_line);
            prop_assert!(snippet.last_line <= last);
            // Every line of the sent code maps back inside the document, or not at all.
            for n in 1..=snippet.code.split('\n').count() as u32 + 1 {
                if let Some(line) = snippet.document_line(n) {
                    prop_assert!(line <= last);
                }
            }
        }
        // Within one line, the text sent is a piece of that line.
        if sl == el && sl <= last && sc != ec {
            let line = text.split('\n').nth(sl as usize).unwrap();
            let snippet = code::extract(&text, Target::Range(Pos { line: sl, character: sc }, Pos { line: el, character: ec }), &marker).unwrap();
            prop_assert!(line.contains(&snippet.code));
        }
    }
}
