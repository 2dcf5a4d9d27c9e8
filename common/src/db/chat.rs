//! Queries the `chat` job runs (the worker side of conversations).
