//! The first check: is the endpoint a pool management endpoint, of which kind of pool, and does
//! the api setting suit it.

use super::report::Report;
use super::{Input, Pool};
use crate::sessions::{Api, PoolTarget};
use crate::settings::Endpoint;

pub const NAME: &str = "Endpoint";

const SHOW_ENDPOINT: &str = "az containerapp sessionpool show -n POOL -g GROUP --query properties.poolManagementEndpoint -o tsv";

/// Checks the endpoint; `Some` when the pool is usable for the checks that follow.
pub fn check<'a>(report: &mut Report, input: &'a Input) -> Option<&'a Pool> {
    let pool = match (&input.settings.endpoint, &input.pool) {
        (Endpoint::NotConfigured, _) => {
            report.fail(
                NAME,
                "no session pool is configured",
                format!(
                    "set azureSessions.endpoint (CLI: --endpoint or AZURE_SESSIONS_ENDPOINT) to the \
                     pool management endpoint (`{SHOW_ENDPOINT}`), or to \"local\" for the local pool"
                ),
            );
            return None;
        }
        (Endpoint::Refused(reason), _) => {
            report.fail(NAME, reason.clone(), "use the pool's https:// endpoint");
            return None;
        }
        (_, Err(reason)) => {
            let fix = match input.settings.endpoint {
                Endpoint::Local => {
                    "the local pool runs python and javascript with python3 and node from PATH; \
                     install the one this language needs"
                }
                _ => "check azureSessions.endpoint and azureSessions.api",
            };
            report.fail(NAME, reason.clone(), fix);
            return None;
        }
        (_, Ok(pool)) => pool,
    };
    if pool.local {
        report.ok(
            NAME,
            format!(
                "local: the built-in local pool ({}) at {}; code runs on this machine, not in Azure",
                input.language,
                pool.target.endpoint()
            ),
        );
        return Some(pool);
    }
    let target = &pool.target;
    let how = how(target, &input.language);
    let kind = kind(target);
    let host = target.host().to_ascii_lowercase();
    let shown = crate::sessions::without_credentials(target.endpoint().as_str());
    if host.ends_with(".dynamicsessions.io") {
        if target.api == Api::Custom {
            report.warn(
                NAME,
                format!("{shown}: a code-interpreter host, but {how}"),
                "code-interpreter pools (Python, Node, Shell) take api \"executions\"; custom is for \
                 custom-container pools (https://POOL.ENV.REGION.azurecontainerapps.io)",
            );
            return Some(pool);
        }
        match code_interpreter_path(target.endpoint().path()) {
            Some((group, name)) => report.ok(
                NAME,
                format!("{shown}: code-interpreter pool {name} in resource group {group}, {how}"),
            ),
            None => report.fail(
                NAME,
                format!(
                    "{shown}: a code-interpreter host, but the path is not \
                     /subscriptions/ID/resourceGroups/GROUP/sessionPools/POOL"
                ),
                format!("copy the pool's poolManagementEndpoint: `{SHOW_ENDPOINT}`"),
            ),
        }
        return Some(pool);
    }
    if host.ends_with(".azurecontainerapps.io") && target.api != Api::Custom {
        report.warn(
            NAME,
            format!("{shown}: a custom-container pool, with {how}"),
            "this works when the container speaks that API (as Microsoft's code-interpreter image \
             does); for your own server set azureSessions.api to \"custom\" and customPath to its route",
        );
        return Some(pool);
    }
    report.ok(NAME, format!("{shown}: {kind}, {how}"));
    Some(pool)
}

/// How runs reach the pool: "api custom: POST /python/execute" or "api executions
/// (api-version …)".
fn how(target: &PoolTarget, language: &str) -> String {
    match target.api {
        Api::Custom => format!(
            "api custom: POST /{}",
            target.custom_path.replace("{language}", language)
        ),
        api => format!(
            "api {} (api-version {})",
            api.name(),
            target.api_version.as_deref().unwrap_or("none")
        ),
    }
}

/// The kind of pool, as far as the endpoint and the settings tell.
fn kind(target: &PoolTarget) -> &'static str {
    if target
        .host()
        .to_ascii_lowercase()
        .ends_with(".dynamicsessions.io")
    {
        "code-interpreter pool"
    } else if target.is_custom_container() {
        "custom-container pool"
    } else {
        "a pool"
    }
}

/// The resource group and pool name of `/subscriptions/S/resourceGroups/G/sessionPools/P`.
fn code_interpreter_path(path: &str) -> Option<(String, String)> {
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    match parts.as_slice() {
        [subscriptions, _, groups, group, pools, name]
            if subscriptions.eq_ignore_ascii_case("subscriptions")
                && groups.eq_ignore_ascii_case("resourceGroups")
                && pools.eq_ignore_ascii_case("sessionPools") =>
        {
            Some(((*group).to_owned(), (*name).to_owned()))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_interpreter_paths() {
        assert_eq!(
            code_interpreter_path("/subscriptions/s/resourceGroups/g/sessionPools/p/"),
            Some(("g".into(), "p".into()))
        );
        assert_eq!(
            code_interpreter_path("/subscriptions/s/resourceGroups/g"),
            None
        );
        assert_eq!(code_interpreter_path("/"), None);
    }
}
