//! The custom route, Piston-like: `POST /{language}/execute` runs one stateless job with this
//! machine's toolchains and answers Piston's execute response (`language`, `version`,
//! `compile`?, `run`), or Piston's 400 for a runtime it does not know.

use super::*;

/// Whether a program is on the PATH (a toolchain the pool can offer).
pub(super) fn on_path(program: &str) -> bool {
    let found = std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(program).is_file()));
    if !found {
        eprintln!("note: {program} is not installed here; its part of this test is skipped");
    }
    found
}

impl Pool {
    /// `POST /{language}/execute?identifier=…` with `{"properties": properties}`.
    pub(super) async fn piston_with(
        &self,
        language: &str,
        id: &str,
        properties: Value,
    ) -> (u16, Value) {
        let response = self
            .post_json(
                self.url(&format!("/{language}/execute"), None, Some(id)),
                json!({ "properties": properties }),
            )
            .await;
        let status = response.status().as_u16();
        (status, response.json().await.expect("json"))
    }

    /// Runs `code` and expects 200.
    pub(super) async fn piston(&self, language: &str, code: &str) -> Value {
        let (status, v) = self
            .piston_with(language, "piston-1", json!({ "code": code }))
            .await;
        assert_eq!(status, 200, "{v}");
        v
    }
}

pub(super) fn text<'a>(v: &'a Value, stage: &str, stream: &str) -> &'a str {
    v[stage][stream].as_str().unwrap_or_default()
}

/// A run that ended by itself with code 0: Piston's nulls, and times.
fn assert_clean_run(v: &Value, stage: &str) {
    let s = &v[stage];
    assert_eq!(s["code"], 0, "{v}");
    for null in ["signal", "status", "message"] {
        assert!(s[null].is_null(), "{stage}.{null} in {v}");
    }
    assert!(s["wall_time"].is_u64() && s["cpu_time"].is_u64(), "{v}");
    assert!(s.get("memory").is_some(), "memory is in the shape: {v}");
}

#[tokio::test]
async fn every_installed_toolchain_runs_a_program_and_prints() {
    let p = python().await;
    let cases: Vec<(&str, &str, &str, bool)> = vec![
        (
            "python3",
            "python",
            "import sys\nprint('py', sys.version_info[0])",
            false,
        ),
        ("node", "javascript", "console.log('js', 1 + 1)", false),
        ("bash", "bash", "x=sh; echo \"$x $((2 + 3))\"", false),
        (
            "gcc",
            "c",
            "#include <stdio.h>\nint main(void) { printf(\"c %d\\n\", 7); return 0; }",
            true,
        ),
        (
            "g++",
            "c++",
            "#include <iostream>\nint main() { std::cout << \"cpp \" << 6 * 7 << std::endl; }",
            true,
        ),
        (
            "rustc",
            "rust",
            "fn main() {\n    println!(\"rust {}\", 40 + 2);\n}",
            true,
        ),
        (
            "java",
            "java",
            "public class Main {\n  public static void main(String[] args) {\n    System.out.println(\"java \" + 21 * 2);\n  }\n}",
            false,
        ),
    ];
    let expected = [
        "py 3\n",
        "js 2\n",
        "sh 5\n",
        "c 7\n",
        "cpp 42\n",
        "rust 42\n",
        "java 42\n",
    ];
    let present: Vec<_> = cases
        .into_iter()
        .zip(expected)
        .filter(|((program, ..), _)| on_path(program))
        .collect();
    let answers = futures::future::join_all(
        present
            .iter()
            .map(|((_, language, code, _), _)| p.piston(language, code)),
    )
    .await;
    for (((_, language, _, compiled), stdout), v) in present.iter().zip(answers) {
        assert_eq!(v["language"], *language, "{v}");
        assert!(
            v["version"]
                .as_str()
                .is_some_and(|s| s.contains('.') || s.parse::<u32>().is_ok()),
            "{v}"
        );
        assert_eq!(text(&v, "run", "stdout"), *stdout, "{language}: {v}");
        assert_eq!(text(&v, "run", "output"), *stdout, "{language}: {v}");
        assert_clean_run(&v, "run");
        // Only compiled runtimes have a compile stage (Piston's java and go have none).
        assert_eq!(v.get("compile").is_some(), *compiled, "{language}: {v}");
        if *compiled {
            assert_clean_run(&v, "compile");
        }
    }
    p.pool.shutdown().await;
}

#[tokio::test]
async fn compile_errors_skip_the_run_and_name_the_file_and_line() {
    let p = python().await;
    let cases = [
        (
            "g++",
            "c++",
            "#include <cstdio>\nint main() {\n  int x = \"s\";\n}\n",
            "file0.code.cpp:3:",
        ),
        (
            "gcc",
            "c",
            "int main(void) {\n\n  return undefined_name;\n}\n",
            "file0.code.c:3:",
        ),
        (
            "rustc",
            "rust",
            "fn main() {\n\n    let x: i32 = \"s\";\n}\n",
            "--> file0.code:3:",
        ),
    ];
    for (program, language, code, place) in cases {
        if !on_path(program) {
            continue;
        }
        let v = p.piston(language, code).await;
        let compile = &v["compile"];
        assert!(compile["code"].as_i64().is_some_and(|c| c != 0), "{v}");
        assert_eq!(compile["status"], "RE", "{v}");
        assert!(
            text(&v, "compile", "stderr").contains(place),
            "{place}: {v}"
        );
        // Piston's quirk: the run stage is skipped and `run` repeats `compile`.
        assert_eq!(v["run"], v["compile"], "{v}");
    }

    // Piston's java package has no compile stage: `java file0.code.java` compiles and runs, so
    // a compile error is the run's (code 1), named after the renamed file.
    if on_path("java") {
        let v = p
            .piston("java", "public class Main {\n  public static void main(String[] a) {\n    int x = \"s\";\n  }\n}\n")
            .await;
        assert!(v.get("compile").is_none(), "{v}");
        assert_eq!(v["run"]["code"], 1, "{v}");
        assert_eq!(v["run"]["status"], "RE", "{v}");
        assert!(
            text(&v, "run", "stderr").contains("file0.code.java:3: error"),
            "{v}"
        );
    }
    p.pool.shutdown().await;
}

#[tokio::test]
async fn python_tracebacks_name_file0_code_and_the_line_and_the_job_dir_goes() {
    let p = python().await;
    let v = p
        .piston("python", "print('before')\nx = 1\ny = x / 0\n")
        .await;
    let run = &v["run"];
    assert_eq!(run["code"], 1, "{v}");
    assert_eq!(run["status"], "RE", "{v}");
    assert_eq!(run["message"], "Exited with error status 1", "{v}");
    assert!(run["signal"].is_null(), "{v}");
    assert_eq!(run["stdout"], "before\n");
    let stderr = text(&v, "run", "stderr");
    assert!(
        stderr.contains("file0.code\", line 3, in <module>"),
        "{stderr}"
    );
    assert!(stderr.contains("ZeroDivisionError"), "{stderr}");
    let output = text(&v, "run", "output");
    assert!(
        output.contains("before\n") && output.contains("ZeroDivisionError"),
        "{output}"
    );
    // The job ran in a directory of its own, gone once it answered.
    let path = stderr
        .split('"')
        .find(|part| part.ends_with("/file0.code"))
        .expect("the file's path");
    let dir = std::path::Path::new(path).parent().expect("the job dir");
    let deadline = Instant::now() + Duration::from_secs(5);
    while dir.exists() {
        assert!(Instant::now() < deadline, "{} stayed", dir.display());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    p.pool.shutdown().await;
}

#[tokio::test]
async fn stdin_reaches_the_program_with_pistons_trailing_newline() {
    let p = python().await;
    let (status, v) = p
        .piston_with(
            "python",
            "stdin-p",
            json!({"code": "import sys\nprint(repr(sys.stdin.read()))", "stdin": "Ada"}),
        )
        .await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["run"]["stdout"], "'Ada\\n'\n", "{v}");
    if on_path("g++") {
        let code = "#include <iostream>\nint main() { int a, b; std::cin >> a >> b; std::cout << a + b << std::endl; }";
        let (_, v) = p
            .piston_with("cpp", "stdin-p", json!({"code": code, "stdin": "40 2\n"}))
            .await;
        assert_eq!(v["run"]["stdout"], "42\n", "{v}");
    }
    p.pool.shutdown().await;
}
#[tokio::test]
async fn aliases_and_plus_signs_answer_with_the_canonical_name() {
    let p = python().await;
    let mut cases = vec![
        ("py", "python", "print(1)"),
        ("py3", "python", "print(1)"),
        ("python3", "python", "print(1)"),
        ("sh", "bash", "echo 1"),
    ];
    if on_path("node") {
        cases.extend([
            ("js", "javascript", "console.log(1)"),
            ("node-js", "javascript", "console.log(1)"),
        ]);
    }
    if on_path("g++") {
        let cpp = "#include <cstdio>\nint main() { std::puts(\"1\"); }";
        cases.extend([
            ("cpp", "c++", cpp),
            ("g++", "c++", cpp),
            ("c++", "c++", cpp),
            ("c%2B%2B", "c++", cpp),
            ("c%2b%2b", "c++", cpp),
        ]);
    }
    if on_path("rustc") {
        cases.push(("rs", "rust", "fn main() { println!(\"1\"); }"));
    }
    for (name, canonical, code) in cases {
        let v = p.piston(name, code).await;
        assert_eq!(v["language"], canonical, "{name}: {v}");
        assert_eq!(v["run"]["stdout"], "1\n", "{name}: {v}");
    }
    p.pool.shutdown().await;
}

#[tokio::test]
async fn unknown_or_absent_runtimes_get_pistons_400_and_bad_requests_azures() {
    let p = python().await;
    let mut unknown = vec!["cobol", "Python", "brainfuck", "c--"];
    if !on_path("go") {
        // Go is a Piston language; without the toolchain it is unknown here.
        unknown.extend(["go", "golang"]);
    }
    for name in unknown {
        let response = p
            .post_json(
                p.url(&format!("/{name}/execute"), None, Some("unknown-1")),
                json!({"properties": {"code": "print(1)"}}),
            )
            .await;
        assert_eq!(response.status(), 400, "{name}");
        assert!(!response.headers().contains_key("x-ms-error-code"));
        let v: Value = response.json().await.expect("json");
        assert_eq!(
            v,
            json!({ "message": format!("{name}-* runtime is unknown") })
        );
    }
    // What the adapter itself refuses stays the pool's (Azure-shaped) answer.
    let missing_id = p
        .post_json(
            p.url("/python/execute", None, None),
            json!({"properties": {"code": "1"}}),
        )
        .await;
    assert_eq!(missing_id.status(), 400);
    assert!(missing_id.headers().contains_key("x-ms-error-code"));
    let (status, v) = p.piston_with("python", "unknown-1", json!({})).await;
    assert_eq!(status, 400);
    assert_eq!(v["error"]["code"], "SessionPropertiesMissing", "{v}");
    p.pool.shutdown().await;
}
/// `run --endpoint local --api custom` sends a C++ file to the pool's Piston-like route and
/// reads Piston's answer: the program's output, or the compile error as a failure.
#[test]
fn run_on_the_local_custom_pool_reads_pistons_answer() {
    if !on_path("g++") {
        return;
    }
    let dir = tempfile::tempdir().expect("dir");
    let run = |name: &str, code: &str| {
        let file = dir.path().join(name);
        std::fs::write(&file, code).expect("write");
        std::process::Command::new(env!("CARGO_BIN_EXE_azure-sessions-lsp"))
            .args([
                "run",
                "--endpoint",
                "local",
                "--api",
                "custom",
                "--session",
                "cli-piston-1",
            ])
            .arg(&file)
            .env("XDG_STATE_HOME", dir.path())
            .env_remove("AZURE_SESSIONS_LANGUAGE")
            .output()
            .expect("run")
    };
    let ok = run(
        "ok.cpp",
        "#include <iostream>\nint main() { std::cout << \"from c++\" << std::endl; }\n",
    );
    assert_eq!(
        ok.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&ok.stdout), "from c++\n");
    let broken = run("broken.cpp", "int main() {\n  return nope;\n}\n");
    assert_eq!(broken.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&broken.stderr);
    assert!(stderr.contains("file0.code.cpp:2:"), "{stderr}");
}

/// `pool` prints the toolchains of its custom API as a third line, after the address and key,
/// in Piston's names; `LocalPool::runtimes_line` is the same line.
#[tokio::test]
async fn pool_prints_its_runtimes_as_a_third_line() {
    use std::io::BufRead;
    let runtime = tempfile::tempdir().expect("dir");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_azure-sessions-lsp"))
        .args(["pool", "--port", "0"])
        .env("XDG_RUNTIME_DIR", runtime.path())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("pool");
    let mut stdout = std::io::BufReader::new(child.stdout.take().expect("stdout"));
    let mut lines = Vec::new();
    for _ in 0..3 {
        let mut line = String::new();
        stdout.read_line(&mut line).expect("a line");
        lines.push(line.trim_end().to_owned());
    }
    // SAFETY: kill has no memory preconditions.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let _ = child.wait();
    assert!(
        lines[0].starts_with("listening on http://127.0.0.1:"),
        "{lines:?}"
    );
    assert!(lines[1].starts_with("key: "), "{lines:?}");
    let third = &lines[2];
    assert!(third.starts_with("runtimes: python 3."), "{third}");
    if on_path("g++") {
        assert!(third.contains(", c++ "), "{third}");
    }
    if !on_path("go") {
        assert!(!third.contains(" go "), "{third}");
    }

    let p = python().await;
    assert_eq!(&p.pool.runtimes_line().await, third);
    p.pool.shutdown().await;
}
