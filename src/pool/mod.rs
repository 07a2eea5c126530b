//! The local pool: a loopback HTTP server that speaks the dynamic-sessions data-plane API.
