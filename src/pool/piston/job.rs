//! One Piston-like job: a fresh directory holding the code as `file0.code`, a compile stage for
//! compiled runtimes, a run stage (see `stage`), and the directory removed after, as Piston's
//! `job.js` does with its isolate boxes. The commands are those of Piston's package scripts
//! (`packages/<language>/<version>/compile` and `run`).

use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::sync::watch;

use super::runtimes::{Installed, Kind, Spec};
use super::stage::{Runner, Stage};
use crate::pool::interpreter::ProcessTable;

/// Piston's name for the first unnamed file of a job.
pub const FILE_NAME: &str = "file0.code";

/// The limits of one job.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Wall time of the compile stage.
    pub compile: Duration,
    /// Wall time of the run stage.
    pub run: Duration,
    /// Bytes kept per stream and stage; more is `OL`/`EL`.
    pub output_cap: usize,
}

/// A finished job: `compile` only for compiled runtimes.
#[derive(Debug)]
pub struct Finished {
    pub compile: Option<Stage>,
    pub run: Stage,
}

/// How a runtime's job goes: the name the code is saved under, then the commands (paths
/// relative to the job directory, as Piston's scripts give them).
struct Plan {
    file: String,
    compile: Option<Vec<String>>,
    run: Vec<String>,
}

fn plan(kind: Kind, installed: &Installed) -> Plan {
    let program = installed.programs.first().cloned().unwrap_or_default();
    let with = |ext: &str| format!("{FILE_NAME}{ext}");
    let interpreted = |file: String| Plan {
        run: vec![program.clone(), file.clone()],
        compile: None,
        file,
    };
    match kind {
        // python/3.12.0/run: `python3.12 "$@"`; node, bash, ruby and php the same.
        Kind::Python | Kind::JavaScript | Kind::Bash | Kind::Ruby | Kind::Php => {
            interpreted(FILE_NAME.to_owned())
        }
        // gcc/10.2.0/compile: `rename 's/$/\.c/' "$@"; gcc -std=c11 *.c -lm`; run: `./a.out`.
        Kind::C => Plan {
            compile: Some(vec![
                program.clone(),
                "-std=c11".into(),
                with(".c"),
                "-lm".into(),
            ]),
            run: vec!["./a.out".into()],
            file: with(".c"),
        },
        // `rename 's/$/\.cpp/' "$@"; g++ -std=c++17 *.cpp`; run: `./a.out`.
        Kind::Cpp => Plan {
            compile: Some(vec![program.clone(), "-std=c++17".into(), with(".cpp")]),
            run: vec!["./a.out".into()],
            file: with(".cpp"),
        },
        // rust/1.68.2/compile: `rustc -o binary … "$@"` (the file as named); run: `./binary`.
        Kind::Rust => Plan {
            compile: Some(vec![
                program.clone(),
                "-o".into(),
                "binary".into(),
                FILE_NAME.into(),
            ]),
            run: vec!["./binary".into()],
            file: FILE_NAME.into(),
        },
        // typescript/5.0.3/compile: `rename 's/$/\.ts/' "$@"; tsc *.ts`; run: `node $1.js`.
        Kind::TypeScript => Plan {
            compile: Some(vec![program.clone(), with(".ts")]),
            run: vec![
                installed
                    .programs
                    .get(1)
                    .cloned()
                    .unwrap_or_else(|| "node".into()),
                with(".js"),
            ],
            file: with(".ts"),
        },
        // go/1.16.2/run (no compile stage): `mv $1 $1.go; go run *.go`.
        Kind::Go => Plan {
            run: vec![program.clone(), "run".into(), with(".go")],
            compile: None,
            file: with(".go"),
        },
        // java/15.0.2/run (no compile stage): `mv $1 $1.java; java $1.java`.
        Kind::Java => interpreted(with(".java")),
    }
}

/// Runs one job in a fresh directory under `jobs_dir`; `Err` when the directory could not be
/// prepared.
#[allow(clippy::too_many_arguments)]
pub async fn run(
    jobs_dir: &Path,
    spec: &Spec,
    installed: &Installed,
    code: &str,
    stdin: &str,
    limits: Limits,
    processes: &ProcessTable,
    stop: &mut watch::Receiver<bool>,
) -> Result<Finished, String> {
    let plan = plan(spec.kind, installed);
    let dir = JobDir::create(jobs_dir)?;
    tokio::fs::write(dir.0.join(&plan.file), code)
        .await
        .map_err(|e| format!("could not write the job's file: {e}"))?;
    let runner = Runner {
        dir: &dir.0,
        language: spec.language,
        stdin,
        output_cap: limits.output_cap,
        processes,
    };
    let compile = match &plan.compile {
        Some(command) => Some(runner.stage(command, limits.compile, stop).await),
        None => None,
    };
    let run = match &compile {
        // Piston skips the run stage when compiling failed, and answers the compile stage as
        // `run` too (for backward compatibility).
        Some(compile) if compile.code != Some(0) => compile.clone(),
        _ => runner.stage(&plan.run, limits.run, stop).await,
    };
    Ok(Finished { compile, run })
}

/// A job's directory, removed when the job ends (or its request is dropped).
struct JobDir(PathBuf);

impl JobDir {
    fn create(jobs_dir: &Path) -> Result<JobDir, String> {
        let dir = jobs_dir.join(uuid::Uuid::new_v4().to_string());
        crate::platform::create_private_dir(&dir, true)
            .map_err(|e| format!("could not create the job's directory: {e}"))?;
        Ok(JobDir(dir))
    }
}

impl Drop for JobDir {
    fn drop(&mut self) {
        let dir = std::mem::take(&mut self.0);
        match tokio::runtime::Handle::try_current() {
            Ok(handle) => {
                handle.spawn_blocking(move || std::fs::remove_dir_all(dir));
            }
            Err(_) => {
                let _ = std::fs::remove_dir_all(dir);
            }
        }
    }
}
