//! The MCP Inspector (npm `@modelcontextprotocol/inspector`, pinned) for tests: installed once
//! from the npm registry into `target/mcp-inspector`, in a temporary directory renamed into
//! place so that tests starting together neither race nor see half an install.

use std::path::{Path, PathBuf};
use std::process::Command;

pub const PACKAGE: &str = "@modelcontextprotocol/inspector@0.15.0";

/// The inspector (`mcp-inspector`; `--cli` selects its CLI mode), run with `node`.
pub fn inspector_cli() -> PathBuf {
    let target = Path::new(env!("CARGO_MANIFEST_DIR")).join("target");
    let dir = target.join("mcp-inspector");
    let bin = dir.join("node_modules").join(".bin").join("mcp-inspector");
    if bin.exists() {
        return bin;
    }
    let building = target.join(format!("mcp-inspector.{}", std::process::id()));
    std::fs::create_dir_all(&building).expect("a directory for npm");
    std::fs::write(building.join("package.json"), "{\"private\": true}\n").unwrap();
    let status = Command::new("npm")
        .args([
            "install",
            "--no-audit",
            "--no-fund",
            "--loglevel=error",
            PACKAGE,
        ])
        .current_dir(&building)
        .status()
        .expect("npm install");
    assert!(
        status.success(),
        "npm install {PACKAGE} (from the npm registry) failed"
    );
    if std::fs::rename(&building, &dir).is_err() {
        let _ = std::fs::remove_dir_all(&building);
    }
    assert!(bin.exists(), "no mcp-inspector in {}", dir.display());
    bin
}
