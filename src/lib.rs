//! azure-sessions-lsp: run code from the editor in Azure Container Apps dynamic sessions.
//!
//! Layout: `sessions` is the data-plane client (no LSP types), `auth` gets and caches
//! Entra ID tokens, `pool` is the local pool that speaks the same API.

pub mod auth;
pub mod bridge;
pub mod cli;
pub mod code;
pub mod doctor;
pub mod identity;
pub mod languages;
pub mod logging;
pub mod mcp;
pub mod notebook;
pub mod platform;
pub mod pool;
pub mod private;
pub mod server;
pub mod sessions;
pub mod settings;
pub mod traceback;
pub mod transcript;
