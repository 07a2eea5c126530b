//! Session files (/mnt/data) in both APIs, and paths that try to leave the session.

use super::*;

#[tokio::test]
async fn files_round_trip_in_the_new_api() {
    let p = python().await;
    let up = p
        .upload("/files", API, "files-new", "data.csv", b"a,b\n1,2\n")
        .await;
    assert_eq!(up.status(), 200);
    let f: Value = up.json().await.expect("json");
    assert_eq!(f["name"], "data.csv");
    assert_eq!(f["type"], "file");
    assert_eq!(f["sizeInBytes"], 8);
    assert_eq!(f["contentType"], "text/csv");
    assert!(f["lastModifiedAt"].is_string());

    // Code sees uploaded files in its working directory, and files it writes are listed.
    let r = p
        .exec(
            "files-new",
            "open('out.txt', 'w').write('written')\nopen('data.csv').read()",
        )
        .await;
    assert_eq!(r["result"]["executionResult"], "a,b\n1,2\n", "{r}");

    let list: Value = p
        .get("/files", Some(API), Some("files-new"))
        .await
        .json()
        .await
        .expect("json");
    let names: Vec<&str> = list["value"]
        .as_array()
        .expect("value")
        .iter()
        .filter_map(|f| f["name"].as_str())
        .collect();
    assert_eq!(names, ["data.csv", "out.txt"]);
    assert_eq!(list["nextLink"], Value::Null);

    let meta: Value = p
        .get("/files/out.txt", Some(API), Some("files-new"))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(meta["sizeInBytes"], 7);
    let content = p
        .get("/files/out.txt/content", Some(API), Some("files-new"))
        .await;
    assert_eq!(content.status(), 200);
    assert_eq!(
        content.headers()["content-type"],
        "application/octet-stream"
    );
    assert_eq!(content.bytes().await.expect("bytes").as_ref(), b"written");

    let deleted = p
        .http
        .delete(p.url("/files/out.txt", Some(API), Some("files-new")))
        .send()
        .await
        .expect("request");
    assert_eq!(deleted.status(), 204);
    assert_eq!(
        p.get("/files/out.txt", Some(API), Some("files-new"))
            .await
            .status(),
        404
    );
    assert_eq!(
        p.get("/files/out.txt/content", Some(API), Some("files-new"))
            .await
            .status(),
        404
    );
    p.pool.shutdown().await;
}

#[tokio::test]
async fn files_round_trip_in_the_legacy_api() {
    let p = python().await;
    let up = p
        .upload(
            "/files/upload",
            LEGACY,
            "files-old",
            "/mnt/data/notes.txt",
            b"hello",
        )
        .await;
    assert_eq!(up.status(), 200);
    let v: Value = up.json().await.expect("json");
    assert_eq!(v["$id"], "1");
    assert_eq!(v["value"][0]["properties"]["filename"], "notes.txt");
    assert_eq!(v["value"][0]["properties"]["size"], 5);
    assert!(v["value"][0]["properties"]["lastModifiedTime"].is_string());

    p.exec("files-old", "open('made.txt', 'w').write('abc')")
        .await;
    let list: Value = p
        .get("/files", Some(LEGACY), Some("files-old"))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(list["$id"], "1");
    let names: Vec<&str> = list["value"]
        .as_array()
        .expect("value")
        .iter()
        .filter_map(|f| f["properties"]["filename"].as_str())
        .collect();
    assert_eq!(names, ["made.txt", "notes.txt"]);

    let content = p
        .get("/files/content/notes.txt", Some(LEGACY), Some("files-old"))
        .await;
    assert_eq!(content.status(), 200);
    assert_eq!(content.bytes().await.expect("bytes").as_ref(), b"hello");
    assert_eq!(
        p.get(
            "/files/content/missing.txt",
            Some(LEGACY),
            Some("files-old")
        )
        .await
        .status(),
        404
    );
    p.pool.shutdown().await;
}

#[tokio::test]
async fn path_traversal_is_refused() {
    let p = python().await;
    for name in ["../escape.txt", "..", "a/b.txt", "..\\x"] {
        let up = p.upload("/files", API, "traversal", name, b"x").await;
        assert_eq!(up.status(), 400, "{name}");
        assert_eq!(up.headers()["x-ms-error-code"], "FilePathInvalid");
    }
    for path in [
        "/files/..%2F..%2Fetc%2Fpasswd/content",
        "/files/%2E%2E/content",
        "/files/..",
        "/files/content/..%2Fx",
    ] {
        let r = p.get(path, Some(API), Some("traversal")).await;
        assert!(
            r.status() == 400 || r.status() == 404,
            "{path}: {}",
            r.status()
        );
        assert!(r.headers().contains_key("x-ms-error-code"));
    }
    let bad_dir = p.get("/files", Some(API), Some("traversal")).await;
    assert_eq!(bad_dir.status(), 200);
    let escape = p
        .http
        .get(format!(
            "{}&path=../..",
            p.url("/files", Some(API), Some("traversal"))
        ))
        .send()
        .await
        .expect("request");
    assert_eq!(escape.status(), 400);
    p.pool.shutdown().await;
}
