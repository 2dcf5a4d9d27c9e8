//! A scripted chat-completions server on 127.0.0.1 and a log capture, for the tests.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::collections::VecDeque;
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use hast_openai::ClientConfig;
use serde_json::{json, Value};
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use warp::http::{HeaderMap, Response};
use warp::Filter;

/// One scripted answer.
#[derive(Clone, Debug)]
pub enum Step {
    /// Answer with this status, headers and body.
    Reply {
        status: u16,
        headers: Vec<(String, String)>,
        body: String,
    },
    /// Never answer (until the server is dropped).
    Hang,
}

impl Step {
    /// A 200 chat completion with this content and usage.
    pub fn ok(content: &str, prompt_tokens: u64, completion_tokens: u64) -> Self {
        Self::json(
            200,
            json!({
                "id": "chatcmpl-test",
                "object": "chat.completion",
                "created": 1_700_000_000,
                "model": "served-model",
                "choices": [{
                    "index": 0,
                    "message": {"role": "assistant", "content": content, "refusal": null},
                    "finish_reason": "stop",
                }],
                "usage": {
                    "prompt_tokens": prompt_tokens,
                    "completion_tokens": completion_tokens,
                    "total_tokens": prompt_tokens + completion_tokens,
                },
            }),
        )
    }

    /// A JSON answer.
    pub fn json(status: u16, body: Value) -> Self {
        Self::Reply {
            status,
            headers: vec![("content-type".into(), "application/json".into())],
            body: body.to_string(),
        }
    }

    /// An OpenAI-style error answer.
    pub fn error(status: u16, message: &str, code: Option<&str>) -> Self {
        Self::json(
            status,
            json!({"error": {"message": message, "type": code, "param": null, "code": code}}),
        )
    }

    /// A raw answer.
    pub fn raw(status: u16, body: &str) -> Self {
        Self::Reply {
            status,
            headers: vec![],
            body: body.into(),
        }
    }

    /// Adds a response header.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        if let Self::Reply { headers, .. } = &mut self {
            headers.push((name.into(), value.into()));
        }
        self
    }
}

/// A request as the server received it.
#[derive(Clone, Debug)]
pub struct Recorded {
    pub at: Instant,
    pub method: String,
    pub path: String,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Recorded {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("the request body is JSON")
    }

    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
    }
}

struct State {
    /// Played in order; the last step repeats forever.
    script: Mutex<VecDeque<Step>>,
    requests: Mutex<Vec<Recorded>>,
    release: Notify,
}

/// The server; dropping it stops accepting and releases hanging answers.
pub struct Server {
    addr: SocketAddr,
    state: Arc<State>,
    task: JoinHandle<()>,
}

impl Server {
    /// Starts a server that plays `script` (the last step repeats).
    pub async fn start(script: Vec<Step>) -> Self {
        assert!(!script.is_empty());
        let state = Arc::new(State {
            script: Mutex::new(script.into()),
            requests: Mutex::new(Vec::new()),
            release: Notify::new(),
        });
        let handler_state = state.clone();
        let route = warp::any()
            .and(warp::method())
            .and(warp::path::full())
            .and(warp::header::headers_cloned())
            .and(warp::body::bytes())
            .then(
                move |method: warp::http::Method,
                      path: warp::path::FullPath,
                      headers: HeaderMap,
                      body: Bytes| {
                    let state = handler_state.clone();
                    async move {
                        let step = {
                            state.requests.lock().unwrap().push(Recorded {
                                at: Instant::now(),
                                method: method.to_string(),
                                path: path.as_str().to_owned(),
                                headers,
                                body,
                            });
                            let mut script = state.script.lock().unwrap();
                            if script.len() > 1 {
                                script.pop_front().unwrap()
                            } else {
                                script.front().cloned().unwrap()
                            }
                        };
                        let (status, headers, body) = match step {
                            Step::Reply {
                                status,
                                headers,
                                body,
                            } => (status, headers, body),
                            Step::Hang => {
                                state.release.notified().await;
                                (503, vec![], String::new())
                            }
                        };
                        let mut response = Response::builder().status(status);
                        for (name, value) in headers {
                            response = response.header(name, value);
                        }
                        response.body(body).unwrap()
                    }
                },
            );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(warp::serve(route).incoming(listener).run());
        Self { addr, state, task }
    }

    /// The `base_url` to configure (`http://127.0.0.1:<port>/v1`).
    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    /// The requests received so far.
    pub fn requests(&self) -> Vec<Recorded> {
        self.state.requests.lock().unwrap().clone()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
        self.state.release.notify_waiters();
    }
}

/// A configuration for `server` with fast retries: backoff 1–5 ms, 5 s request timeout.
pub fn config(server: &Server) -> ClientConfig {
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
