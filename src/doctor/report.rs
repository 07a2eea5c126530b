//! The doctor's report: data (one entry per check), rendered as text lines by the CLI and sent
//! as JSON by the server command.

use serde::Serialize;

/// How one check came out. Warnings and skipped checks do not fail the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Ok,
    Warn,
    Fail,
    /// Not run, because an earlier check failed or it does not apply; `detail` says which.
    Skipped,
}

impl Status {
    /// The four-character label of a text line.
    pub fn label(self) -> &'static str {
        match self {
            Status::Ok => "ok  ",
            Status::Warn => "warn",
            Status::Fail => "FAIL",
            Status::Skipped => "skip",
        }
    }
}

/// One check: what was looked at, what was found, and what to do about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    pub name: String,
    pub status: Status,
    pub detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

/// Every check, in the order they ran.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Report {
    /// `local`, or the endpoint without credentials; `""` when none is configured.
    pub endpoint: String,
    /// No check failed.
    pub ok: bool,
    pub checks: Vec<Check>,
}

impl Report {
    pub fn new(endpoint: String) -> Report {
        Report {
            endpoint,
            ok: true,
            checks: Vec::new(),
        }
    }

    fn push(&mut self, name: &str, status: Status, detail: String, fix: Option<String>) {
        if status == Status::Fail {
            self.ok = false;
        }
        self.checks.push(Check {
            name: name.to_owned(),
            status,
            detail,
            fix,
        });
    }

    pub fn ok(&mut self, name: &str, detail: impl Into<String>) {
        self.push(name, Status::Ok, detail.into(), None);
    }

    pub fn warn(&mut self, name: &str, detail: impl Into<String>, fix: impl Into<String>) {
        self.push(name, Status::Warn, detail.into(), Some(fix.into()));
    }

    pub fn fail(&mut self, name: &str, detail: impl Into<String>, fix: impl Into<String>) {
        self.push(name, Status::Fail, detail.into(), Some(fix.into()));
    }

    pub fn skip(&mut self, name: &str, why: impl Into<String>) {
        self.push(name, Status::Skipped, why.into(), None);
    }

    /// Skips each of `names` for the same reason.
    pub fn skip_all(&mut self, names: &[&str], why: &str) {
        for name in names {
            self.skip(name, why);
        }
    }

    /// The check of this name, if it ran.
    pub fn get(&self, name: &str) -> Option<&Check> {
        self.checks.iter().find(|c| c.name == name)
    }

    /// Replaces the outcome of a check that already ran (a later answer told more about it,
    /// as a 401 to the run tells about the token).
    pub fn replace(&mut self, name: &str, status: Status, detail: String, fix: Option<String>) {
        if let Some(check) = self.checks.iter_mut().find(|c| c.name == name) {
            check.status = status;
            check.detail = detail;
            check.fix = fix;
        } else {
            self.push(name, status, detail, fix);
        }
        self.ok = self.checks.iter().all(|c| c.status != Status::Fail);
    }

    /// Removes every occurrence of a secret from the report (a last guard: no check writes one).
    pub fn scrub(&mut self, secret: &str) {
        if secret.len() < 8 {
            return;
        }
        for check in &mut self.checks {
            check.detail = check.detail.replace(secret, "[redacted]");
            if let Some(fix) = &mut check.fix {
                *fix = fix.replace(secret, "[redacted]");
            }
        }
    }

    /// One line per check (`ok   DNS: …`, `FAIL TLS: … — fix: …`), then a count.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        for check in &self.checks {
            out.push_str(&format!(
                "{} {}: {}",
                check.status.label(),
                check.name,
                check.detail
            ));
            if let Some(fix) = &check.fix {
                out.push_str(" — fix: ");
                out.push_str(fix);
            }
            out.push('\n');
        }
        let count = |status| self.checks.iter().filter(|c| c.status == status).count();
        out.push_str(&format!(
            "{}: {} ok, {} warning(s), {} failed, {} skipped\n",
            if self.ok {
                "all checks passed"
            } else {
                "some checks failed"
            },
            count(Status::Ok),
            count(Status::Warn),
            count(Status::Fail),
            count(Status::Skipped)
        ));
        out
    }

    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }

    /// The JSON as text, its keys in the order above (`endpoint`, `ok`, `checks`).
    pub fn to_json_text(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_has_one_line_per_check_and_the_fix() {
        let mut report = Report::new("https://p.io".into());
        report.ok("DNS", "p.io → 2 addresses");
        report.fail("TLS", "the certificate has expired", "renew it");
        report.skip("Token", "the pool cannot be reached");
        let text = report.to_text();
        assert!(text.starts_with("ok   DNS: p.io → 2 addresses\n"), "{text}");
        assert!(
            text.contains("FAIL TLS: the certificate has expired — fix: renew it\n"),
            "{text}"
        );
        assert!(text.contains("skip Token: the pool cannot be reached\n"));
        assert!(text.ends_with("some checks failed: 1 ok, 0 warning(s), 1 failed, 1 skipped\n"));
        assert!(!report.ok);
        let json = report.to_json();
        assert_eq!(json["checks"][1]["status"], "fail");
        assert_eq!(json["checks"][0].get("fix"), None);
    }

    #[test]
    fn replacing_a_failure_recomputes_ok_and_scrub_removes_secrets() {
        let mut report = Report::new(String::new());
        report.fail("Token", "bad", "fix");
        report.replace("Token", Status::Ok, "fine: s3cret-value".into(), None);
        assert!(report.ok);
        report.scrub("s3cret-value");
        assert_eq!(report.checks[0].detail, "fine: [redacted]");
    }
}
