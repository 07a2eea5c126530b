//! A fake `az` first on PATH: `account get-access-token` answers a recognisable token (a JWT
//! whose parts must never be printed), `containerapp sessionpool list` the pools a test gives
//! (or fails as a signed-out CLI does). Every call is logged.

use std::path::PathBuf;

use base64::Engine as _;
use serde_json::{Value, json};

/// The signature part of the fake token: no output may ever contain it.
pub const SIGNATURE: &str = "doctorS3cretSignature7c1e";

pub struct FakeAz {
    dir: tempfile::TempDir,
    /// The whole token `az` hands out.
    pub token: String,
}

impl FakeAz {
    /// A token for the pool's audience, for a user of a test tenant, valid for an hour.
    pub fn new() -> FakeAz {
        FakeAz::with_claims(json!({
            "aud": "https://dynamicsessions.io",
            "upn": "doctor@contoso.example",
            "tid": "72f988bf-0000-4000-8000-000000000001",
            "oid": "00000000-0000-4000-8000-0000000000aa",
        }))
    }

    /// A token with these claims (`exp` is added: an hour from now).
    pub fn with_claims(mut claims: Value) -> FakeAz {
        let exp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs()
            + 3600;
        claims["exp"] = json!(exp);
        let enc = |bytes: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
        let token = format!(
            "{}.{}.{SIGNATURE}",
            enc(br#"{"alg":"RS256","typ":"JWT"}"#),
            enc(claims.to_string().as_bytes())
        );
        let dir = tempfile::tempdir().expect("temp dir");
        let d = dir.path().display();
        let script = format!(
            "#!/bin/sh\necho \"$*\" >> '{d}/calls'\ncase \"$*\" in\n\
             *get-access-token*) printf '{{\"accessToken\":\"{token}\",\"expires_on\":%s,\"tokenType\":\"Bearer\"}}' $(( $(date +%s) + 3600 )) ;;\n\
             'containerapp sessionpool list'*) if [ -f '{d}/pools.json' ]; then cat '{d}/pools.json'; else echo \"ERROR: Please run 'az login' to setup account.\" >&2; exit 1; fi ;;\n\
             *) echo \"ERROR: unexpected arguments: $*\" >&2; exit 2 ;;\nesac\n"
        );
        let path = dir.path().join("az");
        std::fs::write(&path, script).expect("write az");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        }
        FakeAz { dir, token }
    }

    /// What `az containerapp sessionpool list` answers from now on.
    pub fn set_pools(&self, pools: Value) {
        std::fs::write(self.dir.path().join("pools.json"), pools.to_string()).expect("pools");
    }

    pub fn bin_dir(&self) -> PathBuf {
        self.dir.path().to_owned()
    }

    /// `PATH` with this `az` first.
    pub fn path(&self) -> String {
        format!(
            "{}:{}",
            self.dir.path().display(),
            std::env::var("PATH").unwrap_or_default()
        )
    }

    /// The argument lines of every call so far.
    pub fn calls(&self) -> Vec<String> {
        std::fs::read_to_string(self.dir.path().join("calls"))
            .map(|t| t.lines().map(str::to_owned).collect())
            .unwrap_or_default()
    }

    /// Panics when any part of the token that identifies it shows up in `text`.
    pub fn assert_not_in(&self, text: &str) {
        let payload = self.token.split('.').nth(1).unwrap_or_default();
        for secret in [self.token.as_str(), SIGNATURE, payload] {
            assert!(
                !text.contains(secret),
                "a part of the token leaked:\n{text}"
            );
        }
    }
}
