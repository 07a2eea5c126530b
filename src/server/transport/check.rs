//! Whether a frame's body is a message tower-lsp-server will decode. It ends its read loop on
//! the first body it cannot decode, so only bodies that pass here reach it.
//!
//! Two passes, neither of which builds the JSON: a byte scan for what `serde_json` checks only
//! when it builds values (nesting depth, `\u` surrogate pairs, numbers too large for an f64),
//! then `serde_json` itself, reading the members tower-lsp-server looks at and skipping the rest
//! (about 10 ms for a 20 MB document in a release build). A body that passes both
//! decodes there.

use std::borrow::Cow;
use std::fmt;

use serde::de::{Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use tower_lsp_server::jsonrpc::Id;

use super::scan;

pub const PARSE_ERROR: i64 = -32700;
pub const INVALID_REQUEST: i64 = -32600;

/// Why a body is refused, and what to answer. `why` never quotes the body.
#[derive(Debug)]
pub struct Rejection {
    pub code: i64,
    /// The request's id when it could be read, so the editor can match the answer.
    pub id: Id,
    pub why: String,
}

impl Rejection {
    pub fn parse_error(why: String) -> Rejection {
        Rejection {
            code: PARSE_ERROR,
            id: Id::Null,
            why,
        }
    }
}

pub fn check(body: &[u8]) -> Result<(), Rejection> {
    if body.trim_ascii().is_empty() {
        return Err(Rejection::parse_error("the body is empty".to_owned()));
    }
    let text = std::str::from_utf8(body).map_err(|e| {
        Rejection::parse_error(format!(
            "the body is not UTF-8 (at byte {})",
            e.valid_up_to()
        ))
    })?;
    scan::scan(body).map_err(|why| Rejection::parse_error(why.to_owned()))?;
    let outline: Outline = serde_json::from_str(text).map_err(|e| {
        Rejection::parse_error(match e.classify() {
            // Syntax errors name a position, never the text.
            serde_json::error::Category::Data => "the body is not a JSON-RPC message".to_owned(),
            _ => format!("the body is not JSON ({e})"),
        })
    })?;
    match outline.problem {
        None => Ok(()),
        Some(why) => Err(Rejection {
            code: INVALID_REQUEST,
            // A message without "method" is an answer: its id is the server's, not a request's.
            id: outline.id.filter(|_| outline.request).unwrap_or(Id::Null),
            why: why.to_owned(),
        }),
    }
}

/// What matters of a message: the first reason tower-lsp-server would refuse it, and its id.
struct Outline {
    problem: Option<&'static str>,
    id: Option<Id>,
    /// Whether it has a "method" (a request or notification, not an answer).
    request: bool,
}

impl<'de> Deserialize<'de> for Outline {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(OutlineVisitor)
    }
}

struct OutlineVisitor;

impl OutlineVisitor {
    fn not_an_object<E>(what: &'static str) -> Result<Outline, E> {
        Ok(Outline {
            problem: Some(what),
            id: None,
            request: false,
        })
    }
}

impl<'de> Visitor<'de> for OutlineVisitor {
    type Value = Outline;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON-RPC message")
    }

    // tower-lsp-server reads a message as a Request when it is not a Response, and a Request
    // needs only "jsonrpc": "2.0" and well-typed "method", "id" and "params" (each at most once).
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Outline, A::Error> {
        let mut seen = [false; 4];
        let mut problem = None;
        let mut id = None;
        let mut request = false;
        let mut note = |why: &'static str| {
            problem.get_or_insert(why);
        };
        while let Some(field) = map.next_key::<Field>()? {
            if let Some(slot) = field.slot() {
                if seen[slot] {
                    note("a member appears twice");
                }
                seen[slot] = true;
            }
            match field {
                Field::Jsonrpc => {
                    if !matches!(map.next_value::<Scalar>()?, Scalar::Str(v) if v == "2.0") {
                        note("\"jsonrpc\" is not \"2.0\"");
                    }
                }
                Field::Method => {
                    request = true;
                    if !matches!(map.next_value::<Scalar>()?, Scalar::Str(_)) {
                        note("\"method\" is not a string");
                    }
                }
                Field::Id => match map.next_value::<Scalar>()?.into_id() {
                    Some(valid) => id = Some(valid),
                    None => note("\"id\" is not an integer, a string or null"),
                },
                Field::Params | Field::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        if !seen[0] {
            note("\"jsonrpc\" is missing");
        }
        Ok(Outline {
            problem,
            id,
            request,
        })
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Outline, A::Error> {
        // Read it to the end first, so a syntax error later on is reported as one.
        IgnoredAny.visit_seq(seq)?;
        Self::not_an_object("the message is an array, not an object")
    }
    fn visit_str<E>(self, _: &str) -> Result<Outline, E> {
        Self::not_an_object("the message is a string, not an object")
    }

    fn visit_bool<E>(self, _: bool) -> Result<Outline, E> {
        Self::not_an_object("the message is a boolean, not an object")
    }

    fn visit_i64<E>(self, _: i64) -> Result<Outline, E> {
        Self::not_an_object("the message is a number, not an object")
    }

    fn visit_u64<E>(self, _: u64) -> Result<Outline, E> {
        Self::not_an_object("the message is a number, not an object")
    }

    fn visit_f64<E>(self, _: f64) -> Result<Outline, E> {
        Self::not_an_object("the message is a number, not an object")
    }

    fn visit_unit<E>(self) -> Result<Outline, E> {
        Self::not_an_object("the message is null, not an object")
    }
}

/// The members tower-lsp-server reads.
enum Field {
    Jsonrpc,
    Method,
    Id,
    Params,
    Other,
}

impl Field {
    fn slot(&self) -> Option<usize> {
        match self {
            Field::Jsonrpc => Some(0),
            Field::Method => Some(1),
            Field::Id => Some(2),
            Field::Params => Some(3),
            Field::Other => None,
        }
    }
}

impl<'de> Deserialize<'de> for Field {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct FieldVisitor;
        impl Visitor<'_> for FieldVisitor {
            type Value = Field;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a member name")
            }
            fn visit_str<E>(self, name: &str) -> Result<Field, E> {
                Ok(match name {
                    "jsonrpc" => Field::Jsonrpc,
                    "method" => Field::Method,
                    "id" => Field::Id,
                    "params" => Field::Params,
                    _ => Field::Other,
                })
            }
        }
        deserializer.deserialize_identifier(FieldVisitor)
    }
}

/// A member's value, kept only when it is a scalar that matters.
enum Scalar<'de> {
    Str(Cow<'de, str>),
    Int(i64),
    Uint(u64),
    Null,
    Other,
}

impl Scalar<'_> {
    /// As tower-lsp-server's `Id`: an i64, a string or null.
    fn into_id(self) -> Option<Id> {
        match self {
            Scalar::Str(s) => Some(Id::String(s.into_owned())),
            Scalar::Int(n) => Some(Id::Number(n)),
            Scalar::Uint(n) => i64::try_from(n).ok().map(Id::Number),
            Scalar::Null => Some(Id::Null),
            Scalar::Other => None,
        }
    }
}

impl<'de> Deserialize<'de> for Scalar<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ScalarVisitor;
        impl<'de> Visitor<'de> for ScalarVisitor {
            type Value = Scalar<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Scalar<'de>, E> {
                Ok(Scalar::Str(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Scalar<'de>, E> {
                Ok(Scalar::Str(Cow::Owned(v.to_owned())))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Scalar<'de>, E> {
                Ok(Scalar::Int(v))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Scalar<'de>, E> {
                Ok(Scalar::Uint(v))
            }
            fn visit_unit<E>(self) -> Result<Scalar<'de>, E> {
                Ok(Scalar::Null)
            }
            fn visit_f64<E>(self, _: f64) -> Result<Scalar<'de>, E> {
                Ok(Scalar::Other)
            }
            fn visit_bool<E>(self, _: bool) -> Result<Scalar<'de>, E> {
                Ok(Scalar::Other)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Scalar<'de>, A::Error> {
                IgnoredAny.visit_seq(seq).map(|_| Scalar::Other)
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Scalar<'de>, A::Error> {
                IgnoredAny.visit_map(map).map(|_| Scalar::Other)
            }
        }
        deserializer.deserialize_any(ScalarVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(body: &str) -> Option<i64> {
        check(body.as_bytes()).err().map(|r| r.code)
    }

    /// What tower-lsp-server's own decode makes of a body: its `Message` is a Response or a
    /// Request; a body that decodes as neither ends its read loop.
    fn server_accepts(body: &str) -> bool {
        use tower_lsp_server::jsonrpc::{Request, Response};
        // The same shape as tower-lsp-server's private `jsonrpc::Message`.
        #[derive(serde::Deserialize)]
        #[serde(untagged)]
        #[allow(dead_code)]
        enum Message {
            Response(Response),
            Request(Request),
        }
        serde_json::from_str::<Message>(body).is_ok()
    }

    #[test]
    fn passes_what_editors_send() {
        for body in [
            r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"capabilities":{}}}"#,
            r#"{"jsonrpc":"2.0","method":"initialized","params":{}}"#,
            r#"{"jsonrpc":"2.0","id":"abc","result":null}"#,
            r#"{"jsonrpc":"2.0","id":3,"error":{"code":-32601,"message":"no"}}"#,
            r#"{"jsonrpc":"2.0","method":"exit"}"#,
            r#" {"params":[1.5e10,-3,"\"}]{[",{"a":[[]]}],"method":"x","jsonrpc":"2\u002e0","id":null} "#,
        ] {
            assert_eq!(code(body), None, "{body}");
            assert!(server_accepts(body), "{body}");
        }
    }

    #[test]
    fn refuses_what_would_end_the_server() {
        let deep = format!(
            r#"{{"jsonrpc":"2.0","method":"x","params":{}{}}}"#,
            "[".repeat(10_000),
            "]".repeat(10_000)
        );
        let cases: Vec<(String, i64)> = vec![
            ("{\"jsonrpc\":\"2.0\",".to_owned(), PARSE_ERROR),
            (String::new(), PARSE_ERROR),
            (deep, PARSE_ERROR),
            (
                r#"{"jsonrpc":"2.0","method":"x","params":[1e400]}"#.to_owned(),
                PARSE_ERROR,
            ),
            (
                r#"{"jsonrpc":"2.0","method":"x","params":"\ud800"}"#.to_owned(),
                PARSE_ERROR,
            ),
            (
                r#"{"jsonrpc":"2.0","method":"x"} x"#.to_owned(),
                PARSE_ERROR,
            ),
            (
                r#"{"jsonrpc":"2.0","method":"x","params":{"a":["\udfff"]}}"#.to_owned(),
                PARSE_ERROR,
            ),
            (
                r#"{"jsonrpc":"2.0","method":"x","params":"\u"}"#.to_owned(),
                PARSE_ERROR,
            ),
            (
                "{\"jsonrpc\":\"2.0\",\"method\":\"x\",\"params\":\"a\tb\"}".to_owned(),
                PARSE_ERROR,
            ),
            (
                format!(
                    r#"{{"jsonrpc":"2.0","method":"x","params":{}}}"#,
                    "1".repeat(400)
                ),
                PARSE_ERROR,
            ),
            (r#"{"foo":1}"#.to_owned(), INVALID_REQUEST),
            ("[1,2]".to_owned(), INVALID_REQUEST),
            ("42".to_owned(), INVALID_REQUEST),
            (r#""secret""#.to_owned(), INVALID_REQUEST),
            (
                r#"{"jsonrpc":"1.0","method":"x"}"#.to_owned(),
                INVALID_REQUEST,
            ),
            (
                r#"{"jsonrpc":"2.0","method":5}"#.to_owned(),
                INVALID_REQUEST,
            ),
            (
                r#"{"jsonrpc":"2.0","method":null}"#.to_owned(),
                INVALID_REQUEST,
            ),
            (
                r#"{"jsonrpc":"2.0","method":"x","id":1.5}"#.to_owned(),
                INVALID_REQUEST,
            ),
            (
                r#"{"jsonrpc":"2.0","method":"x","id":9223372036854775808}"#.to_owned(),
                INVALID_REQUEST,
            ),
            (
                r#"{"jsonrpc":"2.0","method":"x","method":"y"}"#.to_owned(),
                INVALID_REQUEST,
            ),
            (
                r#"{"jsonrpc":"2.0","jsonrpc":"2.0","method":"x"}"#.to_owned(),
                INVALID_REQUEST,
            ),
        ];
        for (body, expected) in cases {
            let shown = &body[..body.len().min(80)];
            assert_eq!(code(&body), Some(expected), "{shown}");
            assert!(!server_accepts(&body), "the server would take {shown}");
        }
        assert_eq!(
            check(b"{\"jsonrpc\":\"2.0\",\"method\":\"\xff\"}")
                .unwrap_err()
                .code,
            PARSE_ERROR
        );
    }

    #[test]
    fn answers_a_request_by_its_id() {
        let id = |body: &str| check(body.as_bytes()).unwrap_err().id;
        assert_eq!(
            id(r#"{"jsonrpc":"1.0","id":7,"method":"x"}"#),
            Id::Number(7)
        );
        assert_eq!(id(r#"{"id":"a","method":"x"}"#), Id::String("a".into()));
        // Not a request: the id belongs to the server's own request.
        assert_eq!(id(r#"{"jsonrpc":"1.0","id":7,"result":1}"#), Id::Null);
        assert_eq!(
            id(r#"{"jsonrpc":"2.0","id":7,"method":"x","id":8}"#),
            Id::Number(8)
        );
    }

    #[test]
    fn reasons_never_quote_the_body() {
        for body in [
            r#""tok-SECRET""#,
            r#"{"jsonrpc":"tok-SECRET","method":"x"}"#,
            r#"{"jsonrpc":"2.0","method":"x","id":{"tok-SECRET":1}}"#,
            r#"{"tok-SECRET":"#,
        ] {
            let why = check(body.as_bytes()).unwrap_err().why;
            assert!(!why.contains("SECRET"), "{why}");
        }
    }

    /// Member values that sit near tower-lsp-server's edges.
    fn value() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        prop_oneof![
            Just(r#""2.0""#.to_owned()),
            Just(r#""1.0""#.to_owned()),
            Just(r#""x/y""#.to_owned()),
            Just(r#""\ud800""#.to_owned()),
            Just("null".to_owned()),
            Just("true".to_owned()),
            Just("1e400".to_owned()),
            Just("-0.5".to_owned()),
            Just("[]".to_owned()),
            Just(r#"{"code":1,"message":"m"}"#.to_owned()),
            Just(r#"[1,{"a":[null,"]"]}]"#.to_owned()),
            Just(r#""\ud83d\ude00""#.to_owned()),
            Just(r#""\ude00""#.to_owned()),
            Just(r#""\ud83d\u0041""#.to_owned()),
            Just(r#"["\ud83dx"]"#.to_owned()),
            Just(r#"{"\udc00":1}"#.to_owned()),
            Just(r#""\u00e9\n\"""#.to_owned()),
            Just("1.7976931348623157e308".to_owned()),
            Just("1.8e308".to_owned()),
            Just("-1e-400".to_owned()),
            Just("0e99999".to_owned()),
            Just("9".repeat(320)),
            Just(format!("{}{}", "[".repeat(70), "]".repeat(70))),
            Just(format!("{}{}", "[".repeat(130), "]".repeat(130))),
            any::<i64>().prop_map(|n| n.to_string()),
            any::<u64>().prop_map(|n| n.to_string()),
        ]
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 4000, ..Default::default() })]
        /// Whatever passes the check, tower-lsp-server decodes: one that it could not would end
        /// the server.
        #[test]
        fn what_passes_the_server_decodes(
            members in proptest::collection::vec(
                (proptest::sample::select(&["jsonrpc", "method", "id", "params", "result", "error", "x"][..]), value()),
                0..6,
            ),
            // Mostly with a good "jsonrpc", so that many bodies pass; a few cut short.
            version in proptest::option::weighted(0.8, 0usize..6),
            cut in proptest::option::weighted(0.1, 0usize..200),
        ) {
            let mut inner: Vec<String> = members.iter().map(|(k, v)| format!("\"{k}\":{v}")).collect();
            if let Some(at) = version {
                inner.insert(at.min(inner.len()), r#""jsonrpc":"2.0""#.to_owned());
            }
            let mut body = format!("{{{}}}", inner.join(","));
            if let Some(cut) = cut {
                body.truncate(cut.min(body.len()));
            }
            if check(body.as_bytes()).is_ok() {
                proptest::prop_assert!(server_accepts(&body), "{}", body);
            }
        }
    }
}
