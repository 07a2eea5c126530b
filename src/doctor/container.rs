//! Custom-container pools: the case this project grew from. A 502 that lasts past the cold-start
//! budget means nothing listens on the container's target port (or its adapter is not up yet);
//! the pool's target port, image and state are read with `az` where it is signed in, so the
//! next step can name them.

use serde_json::Value;

use super::report::Report;
use super::{Input, Pool};

pub const NAME: &str = "Container";

/// What `az containerapp sessionpool list` says about the pool.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PoolFacts {
    pub name: String,
    pub group: Option<String>,
    pub target_port: Option<u64>,
    pub image: Option<String>,
    pub provisioning_state: Option<String>,
    pub ready_sessions: Option<u64>,
    /// The probe types configured on the container (`Liveness`, `Startup`).
    pub probes: Vec<String>,
}

fn normalized(endpoint: &str) -> String {
    endpoint.trim().trim_end_matches('/').to_ascii_lowercase()
}

/// The pool whose `properties.poolManagementEndpoint` is `endpoint`, among `az`'s list.
pub fn find(list: &Value, endpoint: &str) -> Option<PoolFacts> {
    let wanted = normalized(endpoint);
    let pool = list.as_array()?.iter().find(|pool| {
        pool.pointer("/properties/poolManagementEndpoint")
            .and_then(Value::as_str)
            .is_some_and(|e| normalized(e) == wanted)
    })?;
    let text = |pointer: &str| {
        pool.pointer(pointer)
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    let number = |pointer: &str| pool.pointer(pointer).and_then(Value::as_u64);
    let container = "/properties/customContainerTemplate/containers/0";
    let group = text("/resourceGroup").or_else(|| {
        let id = text("/id")?;
        let mut parts = id.split('/');
        parts.find(|p| p.eq_ignore_ascii_case("resourceGroups"))?;
        parts.next().map(str::to_owned)
    });
    Some(PoolFacts {
        name: text("/name").unwrap_or_else(|| "?".to_owned()),
        group,
        target_port: number("/properties/customContainerTemplate/ingress/targetPort"),
        image: text(&format!("{container}/image")),
        provisioning_state: text("/properties/provisioningState"),
        ready_sessions: number("/properties/scaleConfiguration/readySessionInstances"),
        probes: pool
            .pointer(&format!("{container}/probes"))
            .and_then(Value::as_array)
            .map(|probes| {
                probes
                    .iter()
                    .filter_map(|p| p.get("type").and_then(Value::as_str).map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default(),
    })
}

/// Asks `az` (signed in, with the containerapp extension) for the pool with this endpoint.
pub async fn lookup(endpoint: &str) -> Result<PoolFacts, String> {
    let output = crate::auth::run_cli(
        "az",
        &["containerapp", "sessionpool", "list", "--output", "json"],
    )
    .await?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let line = stderr
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty() && !l.starts_with("WARNING"))
            .unwrap_or("no reason given");
        let line = crate::sessions::error::redact_bearer(line);
        return Err(format!("`az containerapp sessionpool list` failed: {line}"));
    }
    let list: Value = serde_json::from_slice(&output.stdout)
        .map_err(|e| format!("`az containerapp sessionpool list` gave no JSON list ({e})"))?;
    find(&list, endpoint).ok_or_else(|| {
        "no session pool of the current subscription (`az account show`) has this endpoint"
            .to_owned()
    })
}

/// The explanation of a 502 (503, 504, or a refused connection) that lasted past the budget.
pub async fn explain_not_ready(
    report: &mut Report,
    input: &Input,
    pool: &Pool,
    what: &str,
    code: &str,
) {
    let budget = input.settings.cold_start_timeout.as_secs();
    let path = pool
        .target
        .custom_path
        .replace("{language}", &input.language);
    let facts = if pool.local {
        Err("the local pool has no container".to_owned())
    } else {
        lookup(pool.target.endpoint().as_str()).await
    };
    let mut detail = format!(
        "{what}, past coldStartTimeoutSeconds ({budget} s): nothing listens on the container's \
         target port, or the adapter is not up yet"
    );
    let port = facts
        .as_ref()
        .ok()
        .and_then(|f| f.target_port)
        .map(|p| p.to_string());
    let port = port.as_deref().unwrap_or("TARGET_PORT");
    let image = facts.as_ref().ok().and_then(|f| f.image.clone());
    let image = image.as_deref().unwrap_or("IMAGE");
    match &facts {
        Ok(f) => {
            detail.push_str(&format!(
                "; the pool {} (from az): target port {port}, image {image}, provisioningState {}, \
                 readySessionInstances {}, probes {}",
                f.name,
                f.provisioning_state.as_deref().unwrap_or("unknown"),
                f.ready_sessions
                    .map(|n| n.to_string())
                    .unwrap_or_else(|| "unset".to_owned()),
                if f.probes.is_empty() {
                    "none".to_owned()
                } else {
                    f.probes.join(", ")
                }
            ));
        }
        Err(reason) => detail.push_str(&format!(
            "; the pool's settings could not be read ({reason})"
        )),
    }
    let (name, group) = match &facts {
        Ok(f) => (
            f.name.clone(),
            f.group.clone().unwrap_or_else(|| "GROUP".to_owned()),
        ),
        Err(_) => ("POOL".to_owned(), "GROUP".to_owned()),
    };
    let state = facts
        .as_ref()
        .ok()
        .and_then(|f| f.provisioning_state.clone());
    let fix = match state.as_deref() {
        Some(state) if !state.eq_ignore_ascii_case("Succeeded") => format!(
            "the pool is {state}, not Succeeded: wait for it (`az containerapp sessionpool show -n \
             {name} -g {group} --query properties.provisioningState`), then run the doctor again"
        ),
        _ => {
            let read = if facts.is_err() {
                "read the target port and image with `az containerapp sessionpool show -n POOL \
                 -g GROUP --query properties.customContainerTemplate`; then "
                    .to_owned()
            } else {
                String::new()
            };
            format!(
                "{read}make the server in {image} listen on 0.0.0.0:{port} (not 127.0.0.1, not \
                 another port): try it with `docker run --rm -p {port}:{port} {image}` and `curl -i -X \
                 POST http://localhost:{port}/{path} -H 'Content-Type: application/json' -d \
                 '{{\"properties\":{{\"code\":\"{code}\"}}}}'`; if it listens on another port, `az \
                 containerapp sessionpool update -n {name} -g {group} --target-port PORT`; if it \
                 only starts slowly (an adapter waiting for its runtime), raise \
                 azureSessions.coldStartTimeoutSeconds"
            )
        }
    };
    report.fail(NAME, detail, fix);
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn finds_the_pool_by_its_endpoint() {
        let list = json!([
            {"name": "other", "properties": {"poolManagementEndpoint": "https://other.example"}},
            {"name": "piston", "id": "/subscriptions/s/resourceGroups/rg-1/providers/Microsoft.App/sessionPools/piston",
             "properties": {
                "poolManagementEndpoint": "https://Piston.env.eastus.azurecontainerapps.io/",
                "provisioningState": "Succeeded",
                "scaleConfiguration": {"readySessionInstances": 2},
                "customContainerTemplate": {
                    "containers": [{"image": "acr.io/piston-adapter:3", "probes": [{"type": "Startup"}]}],
                    "ingress": {"targetPort": 8080}}}}
        ]);
        let facts = find(&list, "https://piston.env.eastus.azurecontainerapps.io").unwrap();
        assert_eq!(facts.name, "piston");
        assert_eq!(facts.group.as_deref(), Some("rg-1"));
        assert_eq!(facts.target_port, Some(8080));
        assert_eq!(facts.image.as_deref(), Some("acr.io/piston-adapter:3"));
        assert_eq!(facts.ready_sessions, Some(2));
        assert_eq!(facts.probes, ["Startup"]);
        assert_eq!(find(&list, "https://nope.example"), None);
    }
}
