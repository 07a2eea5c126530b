//! A Python with packages from PyPI for tests (Flask for Microsoft's sample server, nbformat to
//! validate exported notebooks, mcp for the official MCP SDK's client): `target/test-venv`, made once, in a temporary directory renamed
//! into place so that tests starting together neither race nor see half an install.

use std::path::{Path, PathBuf};
use std::process::Command;

const PACKAGES: &[&str] = &["flask", "nbformat", "mcp"];

pub fn python_with_packages() -> PathBuf {
    let target = Path::new(env!("CARGO_MANIFEST_DIR")).join("target");
    let venv = target.join("test-venv");
    let python = venv.join("bin").join("python");
    if python.exists() {
        if !has_every_package(&python) {
            // Made before a package joined the list: add what is missing in place.
            pip_install(&python);
        }
        return python;
    }
    let building = target.join(format!("test-venv.{}", std::process::id()));
    let status = Command::new("python3")
        .args(["-m", "venv"])
        .arg(&building)
        .status()
        .expect("python3 -m venv");
    assert!(status.success(), "python3 -m venv failed");
    pip_install(&building.join("bin").join("python"));
    // Another test may have finished first: its venv is as good as ours.
    if std::fs::rename(&building, &venv).is_err() {
        let _ = std::fs::remove_dir_all(&building);
    }
    assert!(python.exists(), "no Python in {}", venv.display());
    python
}

fn pip_install(python: &Path) {
    let status = Command::new(python)
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
        ])
        .args(PACKAGES)
        .status()
        .expect("pip install");
    assert!(
        status.success(),
        "pip install {PACKAGES:?} (from PyPI) failed"
    );
}

/// Whether an existing venv (made before a package joined the list) has them all.
fn has_every_package(python: &Path) -> bool {
    let imports = PACKAGES.join(", ");
    Command::new(python)
        .args(["-c", &format!("import {imports}")])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}
