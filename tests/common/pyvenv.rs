//! Pythons with packages from PyPI for tests: `target/test-venv` (Flask for Microsoft's sample
//! server, nbformat to validate exported notebooks, mcp for the official MCP SDK's client) and
//! `target/data-venv` (matplotlib and pandas, for a data user's runs on the local pool). Each is
//! made once, in a temporary directory renamed into place, so that tests starting together
//! neither race nor see half an install. The package names are also their import names.

use std::path::{Path, PathBuf};
use std::process::Command;

#[allow(dead_code)] // each test binary uses some of these
pub fn python_with_packages() -> PathBuf {
    python_with("test-venv", &["flask", "nbformat", "mcp"])
}

#[allow(dead_code)]
pub fn python_for_data() -> PathBuf {
    python_with("data-venv", &["matplotlib", "pandas"])
}

fn python_with(name: &str, packages: &[&str]) -> PathBuf {
    let target = Path::new(env!("CARGO_MANIFEST_DIR")).join("target");
    let venv = target.join(name);
    let python = venv.join("bin").join("python");
    if python.exists() {
        if !has_every_package(&python, packages) {
            // Made before a package joined the list: add what is missing in place.
            pip_install(&python, packages);
        }
        return python;
    }
    let building = target.join(format!("{name}.{}", std::process::id()));
    let status = Command::new("python3")
        .args(["-m", "venv"])
        .arg(&building)
        .status()
        .expect("python3 -m venv");
    assert!(status.success(), "python3 -m venv failed");
    pip_install(&building.join("bin").join("python"), packages);
    // Another test may have finished first: its venv is as good as ours.
    if std::fs::rename(&building, &venv).is_err() {
        let _ = std::fs::remove_dir_all(&building);
    }
    assert!(python.exists(), "no Python in {}", venv.display());
    python
}

fn pip_install(python: &Path, packages: &[&str]) {
    let status = Command::new(python)
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
        ])
        .args(packages)
        .status()
        .expect("pip install");
    assert!(
        status.success(),
        "pip install {packages:?} (from PyPI) failed"
    );
}

/// Whether an existing venv (made before a package joined the list) has them all.
fn has_every_package(python: &Path, packages: &[&str]) -> bool {
    let imports = packages.join(", ");
    Command::new(python)
        .args(["-c", &format!("import {imports}")])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}
