//! Job kinds known to the platform. Each kind has a subject `jobs.<kind>` and a durable
//! consumer `worker-<kind>`; the registry that runs them lives in the worker.

/// Every job kind, in the order consumers are created.
pub const KINDS: &[&str] = &["analysis", "chat", "echo", "health"];
