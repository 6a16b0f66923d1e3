//! Crash safety: kill -9 the indexer mid-run; the index stays sound and the next run completes it.

mod common;

use std::time::{Duration, Instant};

use rusqlite::{Connection, OpenFlags};

fn count(db: &std::path::Path) -> usize {
    let Ok(conn) = Connection::open_with_flags(db, OpenFlags::SQLITE_OPEN_READ_ONLY) else {
        return 0;
    };
    conn.query_row("SELECT COUNT(*) FROM items", [], |r| r.get::<_, i64>(0))
        .map(|n| n as usize)
        .unwrap_or(0)
}

#[test]
fn killing_the_indexer_loses_at_most_a_batch_and_the_rerun_completes_the_index() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("catalog");
    let total = 240;
    common::copy_photos(&common::demo_photos(total), &root);
    let db = tmp.path().join("index.sqlite");

    let mut child = common::lookalike(tmp.path())
        .args(["index", "--quiet", "--batch", "8"])
        .arg(&root)
        .arg("--index")
        .arg(&db)
        .spawn()
        .unwrap();
    let start = Instant::now();
    while count(&db) < 16 {
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "indexing never wrote a batch"
        );
        assert!(
            child.try_wait().unwrap().is_none(),
            "the indexer finished before it could be killed"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let after_kill = count(&db);
    assert!(
        after_kill < total,
        "killed mid-run ({after_kill} of {total})"
    );

    let out = common::lookalike(tmp.path())
        .args(["index", "--json"])
        .arg(&root)
        .arg("--index")
        .arg(&db)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["items"], total);
    assert!(
        report["embedded"].as_u64().unwrap() <= (total - after_kill) as u64,
        "the rerun resumed: {report}"
    );

    let conn = Connection::open(&db).unwrap();
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
    let distinct: i64 = conn
        .query_row("SELECT COUNT(DISTINCT path) FROM items", [], |r| r.get(0))
        .unwrap();
    assert_eq!(distinct as usize, total, "no duplicate rows");
    let thumbs: i64 = conn
        .query_row("SELECT COUNT(*) FROM thumbs", [], |r| r.get(0))
        .unwrap();
    assert_eq!(thumbs as usize, total, "every item has its thumbnail");
}
