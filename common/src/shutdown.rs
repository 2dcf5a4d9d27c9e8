//! The shutdown signal shared by both binaries.

/// Resolves on the first SIGTERM or SIGINT (Ctrl-C).
pub async fn signal() {
    let ctrl_c = async {
        if let Err(err) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %err, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut sig) => {
                sig.recv().await;
            }
            Err(err) => {
                tracing::error!(error = %err, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => tracing::info!(signal = "SIGINT", "shutdown requested"),
        () = terminate => tracing::info!(signal = "SIGTERM", "shutdown requested"),
    }
}

/// Listens for SIGTERM/SIGINT for the life of the process: the returned future
/// resolves on the first signal, and a second signal calls `on_second` (typically an
/// immediate exit). One set of listeners is kept throughout, so a second signal sent
/// right after the first is never missed.
#[cfg(unix)]
pub fn first_then(
    on_second: impl FnOnce() + Send + 'static,
) -> impl std::future::Future<Output = ()> {
    use tokio::signal::unix::{signal, SignalKind};
    let (first_tx, first_rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        let (Ok(mut term), Ok(mut int)) = (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
        ) else {
            tracing::error!("cannot listen for SIGTERM/SIGINT");
            return;
        };
        let mut first_tx = Some(first_tx);
        loop {
            let name = tokio::select! {
                _ = term.recv() => "SIGTERM",
                _ = int.recv() => "SIGINT",
            };
            match first_tx.take() {
                Some(tx) => {
                    tracing::info!(signal = name, "shutdown requested");
                    let _ = tx.send(());
                }
                None => {
                    tracing::warn!(signal = name, "second signal: stopping now");
                    on_second();
                    return;
                }
            }
        }
    });
    async move {
        let _ = first_rx.await;
    }
}
