//! The end-to-end tests, one module per area, linked into one test binary: the whole
//! stack (API, worker, tract, both database drivers) is linked once instead of once per
//! file, which is most of what these tests cost to build. `logging.rs` is its own
//! binary: it installs the process-wide tracing subscriber. So is `cluster.rs`, which
//! runs three nats-servers, the API and two workers under load and must not share the
//! machine with other tests.
//!
//! One area: `cargo test -p hast-tests --test suite auth::`.

mod ai;
mod analysis;
mod auth;
mod bootstrap;
mod chat;
mod console;
mod conversations;
mod database;
mod deployment;
mod exhaustion;
mod faults;
mod http;
mod jobs;
mod monitoring;
mod pools;
mod reconciler;
mod storage;
mod web;
mod worker;

/// Every test file in this folder is compiled: with `autotests = false`, a file without
/// its `mod` line above (or a `[[test]]` entry) would silently never run.
#[test]
#[allow(clippy::expect_used)]
fn every_test_file_is_part_of_a_test_binary() {
    let folder = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
    let suite = std::fs::read_to_string(folder.join("suite.rs")).expect("suite.rs");
    let manifest = std::fs::read_to_string(folder.join("../Cargo.toml")).expect("Cargo.toml");
    for entry in std::fs::read_dir(&folder).expect("tests/") {
        let name = entry.expect("a directory entry").file_name();
        let name = name.to_string_lossy();
        let Some(module) = name.strip_suffix(".rs") else {
            continue;
        };
        assert!(
            suite.contains(&format!("\nmod {module};"))
                || manifest.contains(&format!("path = \"tests/{name}\"")),
            "tests/{name} is in no test binary: add `mod {module};` to suite.rs"
        );
    }
}
