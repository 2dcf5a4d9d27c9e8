//! Rebuilds the crate when a migration changes: `embed_migrations!` reads
//! `migrations/{sqlite,postgres}` at compile time, which cargo does not track by itself.
fn main() {
    println!("cargo:rerun-if-changed=../migrations");
}
