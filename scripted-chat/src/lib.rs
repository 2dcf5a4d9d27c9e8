//! A scripted chat-completions server on 127.0.0.1 speaking the OpenAI wire format: the
//! one stand-in for a remote model API, used by `hast-openai`'s tests and the end-to-end
//! tests of `ANALYZER=openai`.
//!
//! It records every request, answers with a script of [`Step`]s (the last step repeats;
//! a step may be computed from the request, or never answer), and can hold every request
//! until the test releases it ([`ChatServer::holding`]), counting how many were in flight
//! at once.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use bytes::Bytes;
use serde_json::{json, Value};
use tokio::sync::{watch, Notify, Semaphore};
use tokio::task::JoinHandle;
use warp::http::{HeaderMap, Response};
use warp::Filter;

/// Computes an answer from the request body.
pub type Responder = Arc<dyn Fn(&Value) -> Step + Send + Sync>;

/// One scripted answer.
#[derive(Clone)]
pub enum Step {
    /// Answer with this status, headers and body.
    Reply {
        status: u16,
        headers: Vec<(String, String)>,
        body: String,
    },
    /// Answer with what the function makes of the request.
    With(Responder),
    /// Never answer (until the server is dropped).
    Hang,
}

impl std::fmt::Debug for Step {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Reply { status, .. } => write!(f, "Reply({status})"),
            Self::With(_) => f.write_str("With(..)"),
            Self::Hang => f.write_str("Hang"),
        }
    }
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

    /// An answer with this body as it is, and no headers.
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

    /// An OpenAI-style error answer.
    pub fn error(status: u16, message: &str, code: Option<&str>) -> Self {
        Self::json(
            status,
            json!({"error": {"message": message, "type": code, "param": null, "code": code}}),
        )
    }

    /// An answer computed from the request body.
    pub fn with(f: impl Fn(&Value) -> Step + Send + Sync + 'static) -> Self {
        Self::With(Arc::new(f))
    }
}

/// A request as the server received it.
#[derive(Clone, Debug)]
pub struct Recorded {
    /// When it arrived.
    pub at: Instant,
    pub method: String,
    pub path: String,
    pub headers: HeaderMap,
    /// The body parsed as JSON (`null` when it is not JSON).
    pub body: Value,
    /// The body as it came.
    pub raw: Bytes,
}

impl Recorded {
    /// The body as JSON.
    pub fn json(&self) -> Value {
        self.body.clone()
    }

    /// A header's value.
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    }

    /// The messages, as `(role, text)`; an array content's text parts are joined.
    pub fn messages(&self) -> Vec<(String, String)> {
        self.body["messages"]
            .as_array()
            .map(|messages| {
                messages
                    .iter()
                    .map(|m| {
                        let role = m["role"].as_str().unwrap_or_default().to_owned();
                        let text = match &m["content"] {
                            Value::String(s) => s.clone(),
                            Value::Array(parts) => parts
                                .iter()
                                .filter_map(|p| p["text"].as_str())
                                .collect::<String>(),
                            _ => String::new(),
                        };
                        (role, text)
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The image URLs of every message.
    pub fn image_urls(&self) -> Vec<String> {
        let mut urls = Vec::new();
        for message in self.body["messages"].as_array().into_iter().flatten() {
            for part in message["content"].as_array().into_iter().flatten() {
                if let Some(url) = part["image_url"]["url"].as_str() {
                    urls.push(url.to_owned());
                }
            }
        }
        urls
    }
}

struct State {
    script: Mutex<VecDeque<Step>>,
    requests: Mutex<Vec<Recorded>>,
    /// Requests received so far (for [`ChatServer::wait_for_requests`]).
    arrived: watch::Sender<usize>,
    /// When holding, each request takes one permit before it is answered.
    hold: Option<Arc<Semaphore>>,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
    /// Wakes [`Step::Hang`] answers when the server is dropped.
    release: Notify,
}

/// The server; dropping it stops it.
pub struct ChatServer {
    addr: SocketAddr,
    state: Arc<State>,
    task: JoinHandle<()>,
}

impl std::fmt::Debug for ChatServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ChatServer({})", self.addr)
    }
}

impl ChatServer {
    /// A server that plays `script` (the last step repeats).
    pub async fn start(script: Vec<Step>) -> Self {
        Self::build(script, None).await
    }

    /// Like [`ChatServer::start`], but every request waits for [`ChatServer::release`].
    pub async fn holding(script: Vec<Step>) -> Self {
        Self::build(script, Some(Arc::new(Semaphore::new(0)))).await
    }

    async fn build(script: Vec<Step>, hold: Option<Arc<Semaphore>>) -> Self {
        assert!(!script.is_empty(), "a script");
        let state = Arc::new(State {
            script: Mutex::new(script.into()),
            requests: Mutex::new(Vec::new()),
            arrived: watch::channel(0).0,
            hold,
            in_flight: AtomicUsize::new(0),
            max_in_flight: AtomicUsize::new(0),
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
                    let request = Recorded {
                        at: Instant::now(),
                        method: method.to_string(),
                        path: path.as_str().to_owned(),
                        headers,
                        body: serde_json::from_slice(&body).unwrap_or(Value::Null),
                        raw: body,
                    };
                    async move { answer(state, request).await }
                },
            );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the chat server");
        let addr = listener.local_addr().expect("its address");
        let task = tokio::spawn(warp::serve(route).incoming(listener).run());
        Self { addr, state, task }
    }

    /// The `OPENAI_BASE_URL` to configure (`http://127.0.0.1:<port>/v1`).
    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    /// The requests received so far.
    pub fn requests(&self) -> Vec<Recorded> {
        self.state.requests.lock().expect("lock").clone()
    }

    /// Lets `n` held requests be answered.
    pub fn release(&self, n: usize) {
        if let Some(hold) = &self.state.hold {
            hold.add_permits(n);
        }
    }

    /// Waits (on an event, not a timer) until at least `n` requests have arrived.
    pub async fn wait_for_requests(&self, n: usize) {
        let mut arrived = self.state.arrived.subscribe();
        let _ = arrived.wait_for(|count| *count >= n).await;
    }

    /// The most requests that were being answered at the same time.
    pub fn max_in_flight(&self) -> usize {
        self.state.max_in_flight.load(Ordering::SeqCst)
    }
}

impl Drop for ChatServer {
    fn drop(&mut self) {
        self.task.abort();
        self.state.release.notify_waiters();
        if let Some(hold) = &self.state.hold {
            hold.close();
        }
    }
}

async fn answer(state: Arc<State>, request: Recorded) -> Response<String> {
    let now = state.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
    state.max_in_flight.fetch_max(now, Ordering::SeqCst);
    let body = request.body.clone();
    let step = {
        let mut requests = state.requests.lock().expect("lock");
        requests.push(request);
        state.arrived.send_replace(requests.len());
        let mut script = state.script.lock().expect("lock");
        if script.len() > 1 {
            script.pop_front()
        } else {
            script.front().cloned()
        }
    };
    if let Some(hold) = &state.hold {
        if let Ok(permit) = hold.acquire().await {
            permit.forget();
        }
    }
    let step = match step {
        Some(Step::With(f)) => f(&body),
        Some(step) => step,
        None => Step::error(500, "no script", None),
    };
    let (status, headers, text) = match step {
        Step::Reply {
            status,
            headers,
            body,
        } => (status, headers, body),
        Step::Hang => {
            state.release.notified().await;
            (503, vec![], String::new())
        }
        Step::With(_) => (500, vec![], "nested responder".to_owned()),
    };
    state.in_flight.fetch_sub(1, Ordering::SeqCst);
    let mut response = Response::builder().status(status);
    for (name, value) in headers {
        response = response.header(name, value);
    }
    response
        .body(text)
        .unwrap_or_else(|_| Response::new(String::new()))
}
