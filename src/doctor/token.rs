//! The credential check: a token is fetched the way runs fetch it, and what it says about
//! itself (audience, expiry, identity, tenant) is read from its claims. The token itself is
//! never shown; the doctor scrubs it from the whole report as a last guard.

use base64::Engine as _;
use time::OffsetDateTime;

use super::report::{Report, Status};
use crate::auth::{AccessToken, Credentials, SCOPE};

/// Audiences the data plane takes: the documented one, and the one some SDKs use.
const AUDIENCES: [&str; 2] = ["https://dynamicsessions.io", "https://acasessions.io"];

/// What a JWT says about itself, read without checking its signature (the pool does that).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Claims {
    pub audience: Vec<String>,
    pub expires: Option<OffsetDateTime>,
    /// `upn`, `unique_name` or `preferred_username` of a user; else `app <appid>`; else the
    /// object id.
    pub identity: Option<String>,
    pub tenant: Option<String>,
}

/// The claims of a JWT, or `None` when the token is not one (an opaque token).
pub fn claims(token: &str) -> Option<Claims> {
    let mut parts = token.split('.');
    let (_header, payload, _signature) = (parts.next()?, parts.next()?, parts.next()?);
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    let value: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    let text = |key: &str| value.get(key).and_then(|v| v.as_str()).map(str::to_owned);
    let audience = match value.get("aud") {
        Some(serde_json::Value::String(aud)) => vec![aud.clone()],
        Some(serde_json::Value::Array(list)) => list
            .iter()
            .filter_map(|a| a.as_str().map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    };
    let identity = text("upn")
        .or_else(|| text("unique_name"))
        .or_else(|| text("preferred_username"))
        .or_else(|| {
            text("appid")
                .or_else(|| text("azp"))
                .map(|id| format!("app {id}"))
        })
        .or_else(|| text("oid").map(|oid| format!("object {oid}")));
    Some(Claims {
        audience,
        expires: value
            .get("exp")
            .and_then(|e| e.as_i64())
            .and_then(|e| OffsetDateTime::from_unix_timestamp(e).ok()),
        identity,
        tenant: text("tid"),
    })
}

fn audience_ok(audience: &str) -> bool {
    let audience = audience.trim_end_matches('/').to_ascii_lowercase();
    AUDIENCES.contains(&audience.as_str())
}

/// "in 59 min", "in 2 h 3 min", "3 min ago".
pub fn relative(when: OffsetDateTime) -> String {
    let seconds = (when - OffsetDateTime::now_utc()).whole_seconds();
    let minutes = (seconds.abs() + 30) / 60;
    let span = if minutes >= 48 * 60 {
        format!("{} days", minutes / (24 * 60))
    } else if minutes >= 120 {
        format!("{} h {} min", minutes / 60, minutes % 60)
    } else {
        format!("{minutes} min")
    };
    if seconds >= 0 {
        format!("in {span}")
    } else {
        format!("{span} ago")
    }
}

/// Gets the token and checks it. Returns the token (for the final scrub) when there is one;
/// `Err(())` when there is none to send, so the checks that need it are skipped.
pub async fn check(
    report: &mut Report,
    credentials: &Credentials,
) -> Result<Option<AccessToken>, ()> {
    const NAME: &str = "Token";
    let token = match credentials.token().await {
        Ok(Some(token)) => token,
        Ok(None) => {
            report.skip(NAME, "auth = none: no token is sent");
            return Ok(None);
        }
        Err(error) => {
            report.fail(
                NAME,
                format!("no token for {SCOPE}: {error}"),
                "sign in with `az login` (or `azd auth login`), or set AZURE_TENANT_ID, \
                 AZURE_CLIENT_ID and AZURE_CLIENT_SECRET; in VS Code, azureSessions.signIn = \"vscode\" \
                 uses your Microsoft account",
            );
            return Err(());
        }
    };
    let Some(claims) = claims(token.secret()) else {
        report.warn(
            NAME,
            format!(
                "got a token that is not a JWT, so its audience and identity cannot be read; it expires {}",
                relative(token.expires_on)
            ),
            "nothing to do if runs work; a pool answers 401 to a token for another audience",
        );
        return Ok(Some(token));
    };
    let expires = claims.expires.unwrap_or(token.expires_on);
    let who = claims.identity.as_deref().unwrap_or("an unnamed identity");
    let tenant = claims
        .tenant
        .as_deref()
        .map(|t| format!(" in tenant {t}"))
        .unwrap_or_default();
    let audience = if claims.audience.is_empty() {
        "none".to_owned()
    } else {
        claims.audience.join(", ")
    };
    let detail = format!(
        "{who}{tenant}, audience {audience}, expires {}",
        relative(expires)
    );
    if !claims.audience.iter().any(|a| audience_ok(a)) {
        report.fail(
            NAME,
            format!("{detail}: not a token for the session pool"),
            format!(
                "the pool takes tokens for {} (scope {SCOPE}); the credential gave one for another \
                 resource",
                AUDIENCES[0]
            ),
        );
        return Err(());
    }
    if expires <= OffsetDateTime::now_utc() {
        report.fail(
            NAME,
            format!("{detail}: it has expired"),
            "sign in again (`az login`); check this machine's clock",
        );
        return Err(());
    }
    report.ok(NAME, detail);
    Ok(Some(token))
}

/// A 401 to the run: the token was fetched but the pool refused it.
pub fn rejected(report: &mut Report, auth_none: bool) {
    let (detail, fix) = if auth_none {
        (
            "the pool wants a token (401 Unauthorized), and auth is \"none\"".to_owned(),
            "set azureSessions.auth (or --auth) to \"auto\"".to_owned(),
        )
    } else {
        let earlier = report
            .get("Token")
            .filter(|c| c.status == Status::Ok)
            .map(|c| format!(" ({})", c.detail))
            .unwrap_or_default();
        (
            format!("the pool rejected the token{earlier} with 401 Unauthorized"),
            "sign in again (`az login`) with an account of the pool's tenant; the token must be \
             for https://dynamicsessions.io, and its tenant must be the pool's"
                .to_owned(),
        )
    };
    report.replace("Token", Status::Fail, detail, Some(fix));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jwt(payload: serde_json::Value) -> String {
        let enc = |v: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v);
        format!(
            "{}.{}.{}",
            enc(br#"{"alg":"RS256","typ":"JWT"}"#),
            enc(payload.to_string().as_bytes()),
            enc(b"signature")
        )
    }

    #[test]
    fn reads_user_and_app_claims() {
        let user = claims(&jwt(serde_json::json!({
            "aud": "https://dynamicsessions.io", "exp": 2_000_000_000i64,
            "upn": "ada@contoso.example", "oid": "o-1", "tid": "t-1"
        })))
        .unwrap();
        assert_eq!(user.identity.as_deref(), Some("ada@contoso.example"));
        assert_eq!(user.tenant.as_deref(), Some("t-1"));
        assert_eq!(user.expires.unwrap().unix_timestamp(), 2_000_000_000);
        assert!(audience_ok(&user.audience[0]));
        let app = claims(&jwt(serde_json::json!({
            "aud": ["https://management.azure.com/"], "appid": "a-9", "oid": "o-2"
        })))
        .unwrap();
        assert_eq!(app.identity.as_deref(), Some("app a-9"));
        assert!(!audience_ok(&app.audience[0]));
        assert!(audience_ok("https://dynamicsessions.io/"));
    }

    #[test]
    fn opaque_tokens_have_no_claims() {
        assert_eq!(claims("fake-az-t0ken-for-tests"), None);
        assert_eq!(claims("a.!!!.c"), None);
    }

    #[test]
    fn relative_times() {
        let now = OffsetDateTime::now_utc();
        assert_eq!(
            relative(now + time::Duration::seconds(59 * 60 + 30)),
            "in 59 min"
        );
        assert_eq!(relative(now + time::Duration::minutes(185)), "in 3 h 5 min");
        assert_eq!(relative(now + time::Duration::days(30)), "in 30 days");
        assert_eq!(
            relative(now - time::Duration::minutes(3) - time::Duration::seconds(5)),
            "3 min ago"
        );
    }
}
