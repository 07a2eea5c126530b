use super::*;
use serde_json::json;

fn parse(value: Value) -> Execution {
    parse_execution(value.to_string().as_bytes()).expect("parses")
}

#[test]
fn legacy_shape_with_ids() {
    let e = parse(
        json!({"$id":"1","properties":{"$id":"2","status":"Success","stdout":"hello world\n","stderr":"","result":2,"executionTimeInMilliseconds":33}}),
    );
    assert_eq!(e.status, ExecutionStatus::Succeeded);
    assert_eq!(e.stdout, "hello world\n");
    assert_eq!(e.result, json!(2));
    assert_eq!(e.execution_time_ms, Some(33));
    assert_eq!(e.raw_status, "Success");
}

#[test]
fn legacy_shape_with_execution_result_and_failure() {
    let e = parse(
        json!({"properties":{"status":"Failure","stdout":"","stderr":"Traceback…","executionResult":"","executionTimeInMilliseconds":5}}),
    );
    assert_eq!(e.status, ExecutionStatus::Failed);
    assert_eq!(e.stderr, "Traceback…");
    assert_eq!(e.result, Value::Null);
}

#[test]
fn executions_shape() {
    let e = parse(
        json!({"id":"x","identifier":"s","executionType":"Synchronous","status":"Succeeded","result":{"stdout":"63\n","stderr":"","executionResult":4,"executionTimeInMilliseconds":4}}),
    );
    assert_eq!(e.status, ExecutionStatus::Succeeded);
    assert_eq!(e.stdout, "63\n");
    assert_eq!(e.result, json!(4));
    assert_eq!(e.execution_time_ms, Some(4));
}

#[test]
fn executions_shape_with_null_result_and_failure() {
    let e = parse(
        json!({"id":"x","status":"Failed","result":{"stdout":"","stderr":"Request timed out waiting for code execution to complete","executionResult":null,"executionTimeInMilliseconds":null}}),
    );
    assert_eq!(e.status, ExecutionStatus::Failed);
    assert_eq!(e.result, Value::Null);
    assert_eq!(e.execution_time_ms, None);
    assert!(e.stderr.contains("timed out"));
}

#[test]
fn image_results_are_kept() {
    let image = json!({"type":"image","format":"png","base64_data":"iVBORw0KGgo="});
    let e = parse(
        json!({"properties":{"status":"Success","stdout":"","stderr":"","result":image.clone()}}),
    );
    assert_eq!(e.result, image);
}

#[test]
fn shell_exit_codes() {
    let ok = parse(
        json!({"identifier":"s","status":"0","result":{"stdout":"Hello\n","stderr":"","executionTimeInMilliseconds":1}}),
    );
    assert_eq!(ok.status, ExecutionStatus::Succeeded);
    let bad = parse(
        json!({"identifier":"s","status":"1","result":{"stdout":"","stderr":"nope","executionTimeInMilliseconds":1}}),
    );
    assert_eq!(bad.status, ExecutionStatus::Failed);
    let numeric = parse(json!({"status":0,"result":{"stdout":"","stderr":""}}));
    assert_eq!(numeric.status, ExecutionStatus::Succeeded);
}

#[test]
fn custom_flat_shapes() {
    let e = parse(json!({"stdout":"a\n","stderr":"","result":"x"}));
    assert_eq!(e.status, ExecutionStatus::Succeeded);
    assert_eq!(e.result, json!("x"));
    let failed = parse(json!({"stdout":"","stderr":"boom","exitCode":2}));
    assert_eq!(failed.status, ExecutionStatus::Failed);
}

#[test]
fn piston_shape() {
    let e = parse(
        json!({"language":"python","run":{"stdout":"hi\n","stderr":"","code":0,"signal":null,"output":"hi\n"}}),
    );
    assert_eq!(e.status, ExecutionStatus::Succeeded);
    assert_eq!(e.stdout, "hi\n");
    let failed = parse(json!({"run":{"stdout":"","stderr":"Traceback","code":1}}));
    assert_eq!(failed.status, ExecutionStatus::Failed);
    assert_eq!(failed.stderr, "Traceback");
}

#[test]
fn status_mapping() {
    for ok in ["Success", "Succeeded", "succeeded", "0", " 0 "] {
        assert_eq!(map_status(ok), ExecutionStatus::Succeeded, "{ok}");
    }
    for bad in [
        "Failure",
        "Failed",
        "Canceled",
        "Running",
        "NotStarted",
        "1",
        "-1",
        "",
    ] {
        assert_eq!(map_status(bad), ExecutionStatus::Failed, "{bad}");
    }
}

#[test]
fn a_result_that_repeats_a_stream_is_not_shown_again() {
    // Microsoft's custom-container sample (session-container/server.py).
    let ok = parse(
        json!({"properties": {"status": "Success", "stdout": "hello\n", "stderr": "", "returnCode": 0, "executionResult": "hello\n"}}),
    );
    assert_eq!(ok.stdout, "hello\n");
    assert_eq!(ok.result, Value::Null);
    let failed = parse(
        json!({"properties": {"status": "Failed", "stdout": "", "stderr": "boom\n", "returnCode": 1, "executionResult": "boom\n"}}),
    );
    assert_eq!(failed.result, Value::Null);
    let value = parse(
        json!({"properties": {"status": "Success", "stdout": "x\n", "executionResult": "42"}}),
    );
    assert_eq!(value.result, json!("42"));
}

#[test]
fn a_failed_run_in_an_error_answer_is_the_run() {
    // The sample's 408 on a timeout and 500 on an exception carry the run.
    let body = json!({"properties": {"status": "Failed", "stderr": "Execution timed out", "executionTimeInMilliseconds": 2000}});
    let timed_out = failed_run_in_error_answer(body.to_string().as_bytes()).unwrap();
    assert_eq!(timed_out.status, ExecutionStatus::Failed);
    assert_eq!(timed_out.stderr, "Execution timed out");
    // Anything else stays an error of the pool.
    for other in [
        json!({"error": "No code or command provided"}),
        json!({"properties": {"status": "Success", "stdout": "x"}}),
        json!({"properties": {"status": "Failed"}}),
        json!({"message": "python-* runtime is unknown"}),
    ] {
        assert!(
            failed_run_in_error_answer(other.to_string().as_bytes()).is_none(),
            "{other}"
        );
    }
    assert!(failed_run_in_error_answer(b"<html>500</html>").is_none());
}

#[test]
fn error_object_on_200_fills_stderr() {
    let e = parse(
        json!({"status":"Failed","result":null,"error":{"code":"X","message":"Execution aborted"}}),
    );
    assert_eq!(e.status, ExecutionStatus::Failed);
    assert_eq!(e.stderr, "X: Execution aborted");
    // The spec's ErrorResponse nests it one level deeper.
    let nested = parse(
        json!({"status":"Failed","error":{"error":{"code":"X","message":"Execution aborted"}}}),
    );
    assert_eq!(nested.stderr, "X: Execution aborted");
}

#[test]
fn malformed_bodies_give_clear_errors() {
    assert!(
        parse_execution(b"{\"status\":")
            .unwrap_err()
            .contains("expected JSON")
    );
    assert!(parse_execution(b"[1,2]").unwrap_err().contains("an array"));
    assert!(
        parse_execution(b"<html>")
            .unwrap_err()
            .contains("expected JSON")
    );
}

#[test]
fn file_lists_of_both_generations() {
    let legacy = json!({"$id":"1","value":[{"$id":"2","properties":{"$id":"3","filename":"test1.txt","size":16,"lastModifiedTime":"2024-05-02T07:21:07Z"}}]});
    let files = parse_file_list(legacy.to_string().as_bytes()).unwrap();
    assert_eq!(
        files,
        vec![RemoteFile {
            name: "test1.txt".into(),
            size: Some(16),
            last_modified: Some("2024-05-02T07:21:07Z".into())
        }]
    );
    let new = json!({"value":[{"name":"a.yaml","type":"File","sizeInBytes":4,"lastModifiedAt":"2024-05-29T00:00:00Z"},{"name":"dir","type":"Directory","sizeInBytes":4096,"lastModifiedAt":"x"}],"nextLink":null});
    let files = parse_file_list(new.to_string().as_bytes()).unwrap();
    assert_eq!(files.len(), 1);
    assert_eq!(files[0].name, "a.yaml");
    let bare = json!([{"name":"b","sizeInBytes":1,"lastModifiedAt":"t"}]);
    assert_eq!(
        parse_file_list(bare.to_string().as_bytes()).unwrap().len(),
        1
    );
}

#[test]
fn uploaded_file_of_both_generations() {
    let new = json!({"name":"x.csv","type":"file","sizeInBytes":10,"lastModifiedAt":"t"});
    assert_eq!(
        parse_uploaded_file(new.to_string().as_bytes())
            .unwrap()
            .size,
        Some(10)
    );
    let legacy = json!({"$id":"1","value":[{"$id":"2","properties":{"filename":"/mnt/data/x.csv","size":10,"lastModifiedTime":"t"}}]});
    let file = parse_uploaded_file(legacy.to_string().as_bytes()).unwrap();
    assert_eq!(file.name, "x.csv");
}
