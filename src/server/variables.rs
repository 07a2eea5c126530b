//! `azure-sessions.variables`: the session's user globals, read by a snippet that leaves no
//! trace in the user's namespace (its helpers live in a namespace of their own, and it ends in a
//! call whose value is `None`/`undefined`, so no `Out`/`_` entry) and that no transcript shows.

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tower_lsp_server::jsonrpc;

use super::Inner;
use super::protocol::SessionArgs;
use crate::sessions::ExecuteRequest;

/// Marks the JSON among whatever else the snippet's run printed.
const MARK: &str = "\u{1e}AZS-VARIABLES ";

/// Python: user globals, without modules, functions, classes, `_` names and IPython's own.
const PYTHON: &str = r#"exec("import json, sys, types\ndef s(v):\n    try:\n        r = repr(v)\n    except Exception:\n        r = '<' + type(v).__name__ + '>'\n    r = ' '.join(r.split())\n    return r if len(r) <= 120 else r[:119] + '\u2026'\ndef z(v):\n    try:\n        shape = getattr(v, 'shape', None)\n        if isinstance(shape, tuple):\n            return ' \u00d7 '.join(str(n) for n in shape)\n        return len(v) if hasattr(v, '__len__') and not isinstance(v, (str, bytes)) else None\n    except Exception:\n        return None\nskip = (types.ModuleType, types.FunctionType, types.BuiltinFunctionType, types.MethodType, type)\nhidden = {'In', 'Out', 'exit', 'quit', 'get_ipython', 'open'}\nitems = [dict(name=k, type=type(v).__name__, summary=s(v), size=z(v)) for k, v in list(g.items()) if not k.startswith('_') and k not in hidden and not isinstance(v, skip)]\nsys.stdout.write(MARK + json.dumps(items) + '\\n')\n", {"g": globals(), "MARK": "\x1eAZS-VARIABLES "})"#;

/// JavaScript: own global properties that a fresh Node context does not have.
const JAVASCRIPT: &str = r#"(() => { const fresh = new Set(['global', 'globalThis', 'process', 'Buffer', 'require', 'module', 'exports', '__filename', '__dirname', 'console', 'setTimeout', 'setInterval', 'setImmediate', 'clearTimeout', 'clearInterval', 'clearImmediate', 'queueMicrotask', 'structuredClone', 'atob', 'btoa', 'fetch', 'crypto', 'navigator', 'performance', 'URL', 'URLSearchParams', 'TextEncoder', 'TextDecoder', 'AbortController', 'AbortSignal', 'Event', 'EventTarget', 'BroadcastChannel', 'MessageChannel', 'MessagePort', 'MessageEvent', 'Blob', 'File', 'FormData', 'Headers', 'Request', 'Response', 'WebAssembly', 'DOMException']); try { for (const k of require('vm').runInNewContext('Object.getOwnPropertyNames(globalThis)')) fresh.add(k); } catch (e) {} const summary = (v) => { let r; try { r = typeof v === 'string' ? JSON.stringify(v) : (typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v)); } catch (e) { r = Object.prototype.toString.call(v); } r = String(r).replace(/\s+/g, ' '); return r.length <= 120 ? r : r.slice(0, 119) + '\u2026'; }; const items = Object.getOwnPropertyNames(globalThis).filter((k) => !fresh.has(k) && !k.startsWith('_') && typeof globalThis[k] !== 'function').map((k) => { const v = globalThis[k]; const type = v === null ? 'null' : Array.isArray(v) ? 'Array' : typeof v === 'object' ? (v.constructor && v.constructor.name) || 'Object' : typeof v; const size = Array.isArray(v) || typeof v === 'string' ? v.length : v instanceof Map || v instanceof Set ? v.size : null; return { name: k, type, summary: summary(v), size }; }); process.stdout.write('\x1eAZS-VARIABLES ' + JSON.stringify(items) + '\n'); })();"#;

/// The snippet for a session's language, if it has one.
pub fn snippet(language: &str) -> Option<&'static str> {
    match language {
        "python" => Some(PYTHON),
        "javascript" => Some(JAVASCRIPT),
        _ => None,
    }
}

/// The variables the snippet printed, without `null` sizes.
pub fn parse(stdout: &str) -> Option<Value> {
    let start = stdout.rfind(MARK)? + MARK.len();
    let line = stdout[start..].lines().next()?;
    let mut items: Value = serde_json::from_str(line).ok()?;
    for item in items.as_array_mut()? {
        if let Some(map) = item.as_object_mut()
            && map.get("size").is_some_and(Value::is_null)
        {
            map.remove("size");
        }
    }
    Some(items)
}

impl Inner {
    pub(super) async fn variables(self: &Arc<Self>, args: SessionArgs) -> jsonrpc::Result<Value> {
        let (session, resolved) = self.command_pool(args.uri.as_ref()).await?;
        let language = session.language();
        let Some(code) = snippet(&language) else {
            return Err(self.fail(format!(
                "variables are listed for Python and JavaScript sessions; this session runs {language}"
            )));
        };
        let identifier = session.identifier();
        let request = ExecuteRequest {
            identifier: &identifier,
            code,
            language: &language,
            stdin: None,
            timeout: Duration::from_secs(30),
            cold_start_budget: Duration::from_secs(10),
        };
        let execution = resolved
            .http
            .execute(&resolved.target, &resolved.credentials, &request, &|_| {})
            .await
            .map_err(|e| self.fail(e.to_string()))?;
        parse(&execution.stdout).ok_or_else(|| {
            self.fail(format!(
                "the session did not list its variables: {}",
                crate::traceback::parse(&execution.stderr, code).message
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_list_is_found_among_other_output() {
        let out = "earlier output\n\u{1e}AZS-VARIABLES [{\"name\":\"x\",\"type\":\"int\",\"summary\":\"42\",\"size\":null}]\n";
        let items = parse(out).unwrap();
        assert_eq!(items[0]["name"], "x");
        assert!(items[0].get("size").is_none());
        assert!(parse("nothing here").is_none());
    }

    #[test]
    fn the_python_snippet_is_valid_python() {
        let status = std::process::Command::new("python3")
            .args(["-c", "import ast, sys; ast.parse(sys.stdin.read())"])
            .stdin(std::process::Stdio::piped())
            .spawn()
            .and_then(|mut child| {
                use std::io::Write;
                child.stdin.take().unwrap().write_all(PYTHON.as_bytes())?;
                child.wait()
            });
        assert!(status.map(|s| s.success()).unwrap_or(true));
    }
}
