#![allow(dead_code)]

pub mod fake_az;
pub mod fake_pool;
pub mod inspector;
pub mod lsp;
pub mod mcp;
pub mod misbehaving;
pub mod pyvenv;
pub mod tls;
pub mod workspace;
