//! The scripted chat-completions server (`hast-scripted-chat`), a client configuration
//! for it, and a log capture, for the tests.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::io;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hast_openai::ClientConfig;
pub use hast_scripted_chat::{ChatServer, Step};

/// A configuration for `server` with fast retries: backoff 1–5 ms, 5 s request timeout.
pub fn config(server: &ChatServer) -> ClientConfig {
    let mut config = ClientConfig::new(server.base_url(), "test-model");
    config.backoff_base = Duration::from_millis(1);
    config.backoff_cap = Duration::from_millis(5);
    config.request_timeout = Duration::from_secs(5);
    config.connect_timeout = Duration::from_secs(2);
    config
}

/// Everything logged on this thread while its [`CaptureGuard`] lives.
///
/// One process-wide subscriber (TRACE, installed on first use) writes each event to the
/// capture of the thread that logs it, if any. Per-test scoped subscribers
/// (`tracing::subscriber::set_default`) lose events when tests run in parallel threads:
/// the callsite interest cache is shared, and one test's dispatcher coming or going
/// can switch a callsite off for the other.
#[derive(Clone, Default)]
pub struct LogCapture(Arc<Mutex<Vec<u8>>>);

thread_local! {
    static CAPTURE: std::cell::RefCell<Option<LogCapture>> = const { std::cell::RefCell::new(None) };
}

/// Ends this thread's capture when dropped.
pub struct CaptureGuard(());

impl Drop for CaptureGuard {
    fn drop(&mut self) {
        CAPTURE.with(|c| c.borrow_mut().take());
    }
}

impl LogCapture {
    /// Captures every event at every level logged on this thread until the guard is
    /// dropped (a `#[tokio::test]` runs its tasks on its own thread).
    pub fn start() -> (Self, CaptureGuard) {
        static GLOBAL: std::sync::Once = std::sync::Once::new();
        GLOBAL.call_once(|| {
            let subscriber = tracing_subscriber::fmt()
                .with_writer(|| ThreadWriter)
                .with_max_level(tracing::Level::TRACE)
                .with_ansi(false)
                .finish();
            tracing::subscriber::set_global_default(subscriber)
                .expect("no other global subscriber in this test binary");
        });
        let capture = Self::default();
        CAPTURE.with(|c| *c.borrow_mut() = Some(capture.clone()));
        (capture, CaptureGuard(()))
    }

    pub fn contents(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

/// Appends to the logging thread's capture; drops the bytes on other threads.
struct ThreadWriter;

impl io::Write for ThreadWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        CAPTURE.with(|c| {
            if let Some(capture) = c.borrow().as_ref() {
                capture.0.lock().unwrap().extend_from_slice(buf);
            }
        });
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
