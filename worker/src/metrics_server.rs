//! The worker's small HTTP listener on `WORKER_METRICS_ADDR`: `GET /healthz`.

use tokio::net::TcpListener;
use tokio::sync::watch;
use warp::Filter;

/// Serves until `stop` turns true.
pub async fn serve(listener: TcpListener, mut stop: watch::Receiver<bool>) {
    let healthz = warp::path!("healthz")
        .and(warp::get())
        .map(|| warp::reply::json(&serde_json::json!({"status": "ok"})));
    warp::serve(healthz)
        .incoming(listener)
        .graceful(async move {
            let _ = stop.changed().await;
        })
        .run()
        .await;
}
