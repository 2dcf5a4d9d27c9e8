//! The gate hook: awaited before every HTTP attempt, its permit released when the attempt ends.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::support::{config, ChatServer, Step};
use hast_openai::gate::AdmitFuture;
use hast_openai::{AiError, ChatRequest, Client, Gate, GatePermit};
use tokio::sync::{mpsc, OwnedSemaphorePermit, Semaphore};

/// Reports each `admit` call, then waits for a permit the test hands out.
struct ControlledGate {
    admit_called: mpsc::UnboundedSender<()>,
    permits: Arc<Semaphore>,
}

impl Gate for ControlledGate {
    fn admit(&self) -> AdmitFuture<'_> {
        Box::pin(async move {
            self.admit_called.send(()).unwrap();
            let permit = self.permits.acquire().await.unwrap();
            permit.forget();
            Ok(Box::new(()) as GatePermit)
        })
    }
}

#[tokio::test]
async fn the_gate_is_awaited_before_each_attempt() {
    let server =
        ChatServer::start(vec![Step::error(500, "boom", None), Step::ok("ok", 1, 1)]).await;
    let (admit_called, mut admits) = mpsc::unbounded_channel();
    let permits = Arc::new(Semaphore::new(0));
    let gate = ControlledGate {
        admit_called,
        permits: permits.clone(),
    };
    let client = Client::new(config(&server))
        .unwrap()
        .with_gate(Arc::new(gate));
    let completion =
        tokio::spawn(async move { client.complete(&ChatRequest::new().user("hello")).await });

    admits.recv().await.unwrap();
    assert_eq!(
        server.requests().len(),
        0,
        "no request before the gate admits"
    );
    permits.add_permits(1);
    admits.recv().await.unwrap();
    assert_eq!(
        server.requests().len(),
        1,
        "the retry waits for the gate too"
    );
    permits.add_permits(1);

    let completion = completion.await.unwrap().unwrap();
    assert_eq!(completion.attempts, 2);
    assert_eq!(server.requests().len(), 2);
    assert!(admits.try_recv().is_err(), "one admit per attempt");
}

/// One attempt at a time; counts admits and released permits.
struct SemaphoreGate {
    semaphore: Arc<Semaphore>,
    admitted: Arc<AtomicUsize>,
    released: Arc<AtomicUsize>,
}

struct Held {
    _permit: OwnedSemaphorePermit,
    released: Arc<AtomicUsize>,
}

impl Drop for Held {
    fn drop(&mut self) {
        self.released.fetch_add(1, Ordering::SeqCst);
    }
}

impl Gate for SemaphoreGate {
    fn admit(&self) -> AdmitFuture<'_> {
        Box::pin(async move {
            let permit = self
                .semaphore
                .clone()
                .acquire_owned()
                .await
                .map_err(|_| AiError::gate("closed", false))?;
            self.admitted.fetch_add(1, Ordering::SeqCst);
            Ok(Box::new(Held {
                _permit: permit,
                released: self.released.clone(),
            }) as GatePermit)
        })
    }
}

#[tokio::test]
async fn the_permit_is_released_after_each_attempt() {
    let server = ChatServer::start(vec![
        Step::error(500, "boom", None),
        Step::error(503, "busy", None),
        Step::ok("ok", 1, 1),
    ])
    .await;
    let semaphore = Arc::new(Semaphore::new(1));
    let admitted = Arc::new(AtomicUsize::new(0));
    let released = Arc::new(AtomicUsize::new(0));
    let client = Client::new(config(&server))
        .unwrap()
        .with_gate(Arc::new(SemaphoreGate {
            semaphore: semaphore.clone(),
            admitted: admitted.clone(),
            released: released.clone(),
        }));
    // With a single permit, a permit kept past its attempt would block the next one forever.
    let completion = tokio::time::timeout(
        Duration::from_secs(20),
        client.complete(&ChatRequest::new().user("hello")),
    )
    .await
    .expect("a permit was not released")
    .unwrap();
    assert_eq!(completion.attempts, 3);
    assert_eq!(admitted.load(Ordering::SeqCst), 3);
    assert_eq!(released.load(Ordering::SeqCst), 3);
    assert_eq!(semaphore.available_permits(), 1);
}

struct RefusingGate;

impl Gate for RefusingGate {
    fn admit(&self) -> AdmitFuture<'_> {
        Box::pin(async { Err(AiError::gate("the fleet's token budget is spent", false)) })
    }
}

#[tokio::test]
async fn a_gate_refusal_ends_the_completion_without_a_request() {
    let server = ChatServer::start(vec![Step::ok("ok", 1, 1)]).await;
    let client = Client::new(config(&server))
        .unwrap()
        .with_gate(Arc::new(RefusingGate));
    let error = client
        .complete(&ChatRequest::new().user("hello"))
        .await
        .unwrap_err();
    assert_eq!(error.code(), "gate");
    assert!(!error.is_transient());
    assert_eq!(error.attempts(), 0);
    assert_eq!(server.requests().len(), 0);
}
