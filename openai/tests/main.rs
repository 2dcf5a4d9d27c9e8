//! The client against a local server speaking the chat-completions wire format, in one
//! test binary (one link instead of one per file). Log capture is per thread, through
//! one process-wide subscriber (`support::LogCapture`), so the areas can share the
//! process.

mod support;

mod client;
mod gate;
mod secrets;
