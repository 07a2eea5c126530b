use super::*;
use serde_json::json;

#[test]
fn defaults_for_nothing() {
    let (settings, errors) = Settings::from_json(&Value::Null);
    assert!(errors.is_empty());
    assert_eq!(settings.endpoint, Endpoint::NotConfigured);
    assert_eq!(settings.api, Api::Executions);
    assert_eq!(settings.timeout, Duration::from_secs(220));
}

#[test]
fn wrapped_and_bare_objects() {
    let (a, _) =
        Settings::from_json(&json!({"azureSessions": {"endpoint": "local", "api": "legacy"}}));
    let (b, _) = Settings::from_json(&json!({"endpoint": "local", "api": "legacy"}));
    assert_eq!(a.endpoint, Endpoint::Local);
    assert_eq!(b.api, Api::Legacy);
}

#[test]
fn each_bad_value_is_reported_by_key_and_the_rest_kept() {
    let (settings, errors) = Settings::from_json(&json!({
        "endpoint": "https://pool.example.io",
        "api": "soap",
        "timeoutSeconds": "ten",
        "coldStartTimeoutSeconds": 9000,
        "cellMarker": "(",
        "auth": 3,
        "sessionScope": "file",
        "extraCaCertificates": "x.pem",
        "prewarm": null,
    }));
    let keys: Vec<_> = errors.iter().map(|e| e.key).collect();
    assert_eq!(
        keys,
        vec![
            "auth",
            "api",
            "timeoutSeconds",
            "coldStartTimeoutSeconds",
            "cellMarker",
            "extraCaCertificates"
        ]
    );
    assert_eq!(
        settings.endpoint,
        Endpoint::Remote("https://pool.example.io".into())
    );
    assert_eq!(settings.api, Api::Executions);
    assert_eq!(settings.timeout, Duration::from_secs(220));
    assert_eq!(settings.session_scope, SessionScope::File);
    assert!(errors[0].to_string().starts_with("azureSessions.auth:"));
}

#[test]
fn runs_longer_than_azure_allows_are_reported_and_held_at_220_s() {
    let (settings, errors) = Settings::from_json(&json!({
        "endpoint": "https://eastus.dynamicsessions.io/subscriptions/s/resourceGroups/g/sessionPools/p",
        "timeoutSeconds": 600,
    }));
    assert_eq!(settings.timeout, Duration::from_secs(220));
    assert_eq!(errors.len(), 1);
    assert!(errors[0].message.contains("220 s"), "{}", errors[0].message);
    // Custom containers and the local pool may run longer.
    for endpoint in ["https://p.env.eastus.azurecontainerapps.io", "local"] {
        let (settings, errors) =
            Settings::from_json(&json!({"endpoint": endpoint, "timeoutSeconds": 600}));
        assert_eq!(settings.timeout, Duration::from_secs(600));
        assert!(errors.is_empty());
    }
}

#[test]
fn insecure_endpoints_are_refused_at_settings_time() {
    let (settings, errors) = Settings::from_json(&json!({"endpoint": "http://pool.example.io"}));
    let Endpoint::Refused(reason) = &settings.endpoint else {
        panic!("{:?}", settings.endpoint)
    };
    assert!(reason.contains("http://pool.example.io"), "{reason}");
    assert!(reason.contains("loopback"), "{reason}");
    assert_eq!(errors[0].key, "endpoint");
    let (settings, _) =
        Settings::from_json(&json!({"endpoint": "https://user:hunter2@pool.example.io"}));
    let Endpoint::Refused(reason) = &settings.endpoint else {
        panic!("{:?}", settings.endpoint)
    };
    assert!(!reason.contains("hunter2"), "{reason}");
}

#[test]
fn schema_defaults_match_the_resolved_defaults() {
    let schema = schema();
    let (defaults, _) = Settings::from_json(&Value::Null);
    assert_eq!(
        schema["timeoutSeconds"]["default"],
        json!(defaults.timeout.as_secs())
    );
    assert_eq!(
        schema["cellMarker"]["default"],
        json!(defaults.cell_marker.as_str())
    );
    assert_eq!(schema.as_object().unwrap().len(), 16);
    assert_eq!(schema["languages"]["default"], json!({}));
    assert!(schema.get("endpointOrigin").is_none(), "not a user setting");
    assert_eq!(schema["poolType"]["default"], "auto");
}

#[test]
fn pool_type_says_what_kind_of_pool_the_endpoint_is() {
    for (value, expected) in [
        ("auto", None),
        ("code-interpreter", Some(false)),
        ("custom-container", Some(true)),
    ] {
        let (settings, errors) = Settings::from_json(&json!({"poolType": value}));
        assert!(errors.is_empty(), "{value}");
        assert_eq!(settings.custom_container, expected, "{value}");
    }
    let (settings, errors) = Settings::from_json(&json!({"poolType": "byoc"}));
    assert_eq!(settings.custom_container, None);
    assert_eq!(errors[0].key, "poolType");
}

#[test]
fn languages_are_read_and_bad_entries_named() {
    let (settings, errors) = Settings::from_json(&json!({"languages": {"cpp": "cpp17", "go": 1}}));
    assert_eq!(
        settings.languages.get("cpp").map(String::as_str),
        Some("cpp17")
    );
    assert_eq!(settings.languages.len(), 1);
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].key, "languages");
    assert!(
        errors[0]
            .to_string()
            .starts_with("azureSessions.languages: go:"),
        "{}",
        errors[0]
    );
}

#[test]
fn endpoint_origin_defaults_to_user_and_a_bad_value_is_reported() {
    let (settings, errors) = Settings::from_json(&Value::Null);
    assert!(errors.is_empty());
    assert_eq!(settings.endpoint_origin, EndpointOrigin::User);
    let (settings, errors) = Settings::from_json(&json!({"endpointOrigin": "workspace"}));
    assert!(errors.is_empty());
    assert_eq!(settings.endpoint_origin, EndpointOrigin::Workspace);
    for bad in [json!("folder"), json!(true)] {
        let (settings, errors) = Settings::from_json(&json!({"endpointOrigin": bad}));
        assert_eq!(settings.endpoint_origin, EndpointOrigin::User);
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].key, "endpointOrigin");
    }
}

#[test]
fn stdin_file_stays_inside_the_workspace() {
    let (settings, errors) = Settings::from_json(&json!({"stdinFile": "data/input.txt"}));
    assert!(errors.is_empty());
    assert_eq!(settings.stdin_file, Some(PathBuf::from("data/input.txt")));
    let mut outside = vec!["/etc/passwd", "../secrets.txt", "data/../../x"];
    if cfg!(windows) {
        // Rooted at the current drive, a drive-relative path, a share.
        outside.extend([
            r"\Windows\win.ini",
            r"C:secret.txt",
            r"C:\x",
            r"\\server\share\x",
        ]);
    }
    for outside in outside {
        let (settings, errors) = Settings::from_json(&json!({ "stdinFile": outside }));
        assert_eq!(settings.stdin_file, None, "{outside}");
        assert_eq!(errors[0].key, "stdinFile", "{outside}");
    }
}
