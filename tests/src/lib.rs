//! Test support: real servers, started per test and stopped on drop.
//!
//! - [`NatsServer`]: a `nats-server` with JetStream on a free loopback port and a
//!   temporary store directory (the binary comes from `NATS_SERVER_BIN` or `PATH`;
//!   `scripts/test.sh` installs it). It can be stopped and restarted on the same port
//!   and store, to test outages.
//! - [`TestDatabase`]: a fresh SQLite file, or a fresh PostgreSQL database created on
//!   the server named by `HAST_TEST_POSTGRES_URL` and dropped afterwards.
//! - [`spawn_app`] / [`spawn_worker`]: the real `hast-api` / `hast-worker` running
//!   in-process on port 0, built from [`test_settings`].
//!
//! Set `TEST_LOG=1` to see the services' logs.
//!
//! The crate's own unit tests (`src/no_panic.rs`) are property tests of the upload path
//! and the palm engine over arbitrary bytes.

#![allow(clippy::unwrap_used)]

pub mod browser;
#[cfg(test)]
mod no_panic;

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{mpsc, Once};
use std::time::Duration;

use diesel_async::{AsyncConnection, AsyncPgConnection, SimpleAsyncConnection};
use hast_common::config::Settings;
use hast_common::db::{Backend, Database};
use serde_json::Value;

/// Runs each scenario (an `async fn(Backend)` in the calling module) as two tests, in
/// modules `sqlite` and `postgres`, so the same test body covers both backends.
#[macro_export]
macro_rules! on_both_backends {
    ($($scenario:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $scenario() {
                    super::$scenario(hast_common::db::Backend::Sqlite).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $scenario() {
                    super::$scenario(hast_common::db::Backend::Postgres).await;
                }
            )*
        }
    };
}

/// Job settings that make the job tests fast: short retry delays, a 2 s `ack_wait`
/// (heartbeats every 667 ms, room enough on a busy 2-core CI machine), a short grace.
pub const FAST_JOBS: &[(&str, &str)] = &[
    ("JOB_BACKOFF_BASE", "200ms"),
    ("JOB_BACKOFF_CAP", "2s"),
    ("JOB_ACK_WAIT", "2s"),
    ("SHUTDOWN_GRACE", "300ms"),
];

/// How long tests wait for a condition before failing.
pub const WAIT: Duration = Duration::from_secs(20);

static TRACING: Once = Once::new();

/// Installs a stdout bunyan subscriber when `TEST_LOG` is set.
pub fn init_test_logging() {
    TRACING.call_once(|| {
        if std::env::var_os("TEST_LOG").is_some() {
            let subscriber =
                hast_common::telemetry::get_subscriber("test", "info", std::io::stdout);
            let _ = hast_common::telemetry::init_subscriber(subscriber);
        }
    });
}

/// A free TCP port on 127.0.0.1 (bound, read, released).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

pub fn nats_server_bin() -> PathBuf {
    std::env::var_os("NATS_SERVER_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("nats-server"))
}

/// The JetStream file store of every test server, in bytes. nats-server's default is
/// three quarters of the free disk, which made a process started without the tests'
/// `JETSTREAM_MAX_BYTES` (1 GiB) pass or fail with the machine's free disk; this
/// is more than any test's budget and less than the production default (9 GiB), so
/// such a process fails on every machine.
pub const MAX_FILE_STORE: u64 = 4 * 1024 * 1024 * 1024;

/// A real nats-server with JetStream, killed on drop.
#[derive(Debug)]
pub struct NatsServer {
    child: Option<Child>,
    store: tempfile::TempDir,
    /// Client port.
    pub port: u16,
    /// Monitoring (HTTP) port.
    pub monitor_port: u16,
    /// The server's name (`-n`).
    pub name: String,
    /// Extra command-line arguments (the cluster's).
    cluster_args: Vec<String>,
    /// A configuration file the server also reads (see [`Self::start_with_config`]).
    config: Option<PathBuf>,
    /// Extra environment of the process (variables a config file refers to).
    env: Vec<(String, String)>,
}

impl NatsServer {
    /// Starts a server on free loopback ports with a fresh store directory.
    pub fn start() -> Self {
        let mut server = Self::unstarted("hast-test".into(), Vec::new());
        server.spawn();
        server
    }

    /// Starts a server like [`Self::start`] that also reads the configuration file
    /// `config` (the command line's address, ports and store win over it), with `env`
    /// in its environment.
    pub fn start_with_config(config: &std::path::Path, env: &[(&str, &str)]) -> Self {
        let mut server = Self::unstarted("hast-test".into(), Vec::new());
        server.config = Some(config.to_owned());
        server.env = env
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        server.spawn();
        server
    }

    /// Starts a server whose direct gets on each of `streams` are answered as a replica
    /// that lags far behind would answer them: from the empty stream `LAGGING` (the
    /// server maps the requests there). Direct gets are what any replica may answer;
    /// reads through the stream's leader (`STREAM.MSG.GET`) are untouched.
    pub async fn with_lagging_replicas(streams: &[&str]) -> Self {
        let mappings: String = streams
            .iter()
            .map(|s| {
                // By sequence or next by subject (the request in the body), and last by
                // subject (the subject in the request's subject).
                format!(
                    "  \"$JS.API.DIRECT.GET.{s}\": \"$JS.API.DIRECT.GET.LAGGING\"\n  \"$JS.API.DIRECT.GET.{s}.>\": \"$JS.API.DIRECT.GET.LAGGING.>\"\n"
                )
            })
            .collect();
        let mut server = Self::unstarted("hast-test".into(), Vec::new());
        let config = server.store.path().join("lagging.conf");
        std::fs::write(&config, format!("mappings = {{\n{mappings}}}\n"))
            .expect("writes the server's configuration");
        server.config = Some(config);
        server.spawn();
        let client = async_nats::connect(server.url()).await.expect("NATS");
        async_nats::jetstream::new(client)
            .create_stream(async_nats::jetstream::stream::Config {
                name: "LAGGING".into(),
                subjects: vec!["lagging.>".into()],
                allow_direct: true,
                ..Default::default()
            })
            .await
            .expect("the LAGGING stream");
        server
    }

    fn unstarted(name: String, cluster_args: Vec<String>) -> Self {
        Self {
            child: None,
            store: tempfile::tempdir().expect("temp dir for the JetStream store"),
            port: free_port(),
            monitor_port: free_port(),
            name,
            cluster_args,
            config: None,
            env: Vec::new(),
        }
    }

    /// Whether the process is running.
    pub fn is_running(&self) -> bool {
        self.child.is_some()
    }

    /// `nats://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// `http://127.0.0.1:<monitor_port>`.
    pub fn monitor_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.monitor_port)
    }

    /// Starts the process and waits for "Server is ready". A fresh server whose port
    /// was taken meanwhile (another test raced for it) retries on new ports.
    fn spawn(&mut self) {
        // Cluster nodes keep their ports: their peers' routes name them.
        let fresh = self.child.is_none()
            && self.cluster_args.is_empty()
            && self.config.is_none()
            && !self.store.path().join("jetstream").exists();
        let mut last_error = String::new();
        for _ in 0..5 {
            match self.try_spawn() {
                Ok(child) => {
                    self.child = Some(child);
                    return;
                }
                Err(err) => last_error = err,
            }
            if fresh {
                self.port = free_port();
                self.monitor_port = free_port();
            }
        }
        panic!("nats-server did not start: {last_error}");
    }

    /// The configuration file the server is started with: [`MAX_FILE_STORE`], then the
    /// one given to [`Self::start_with_config`], if any. It is written beside that one,
    /// whose `include`s are relative to its own folder.
    fn write_config(&self) -> Result<PathBuf, String> {
        let limits = format!("jetstream {{ max_file_store: {MAX_FILE_STORE} }}\n");
        let (path, text) = match &self.config {
            None => (self.store.path().join("hast-test.conf"), limits),
            Some(config) => {
                let given = std::fs::read_to_string(config)
                    .map_err(|e| format!("cannot read {}: {e}", config.display()))?;
                (config.with_extension("hast-test.conf"), limits + &given)
            }
        };
        std::fs::write(&path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        Ok(path)
    }

    fn try_spawn(&self) -> Result<Child, String> {
        let config = self.write_config()?;
        let mut child = Command::new(nats_server_bin())
            .args(["-a", "127.0.0.1", "-js", "-n", &self.name])
            .arg("-c")
            .arg(&config)
            .args(&self.cluster_args)
            .arg("-p")
            .arg(self.port.to_string())
            .arg("-m")
            .arg(self.monitor_port.to_string())
            .arg("-sd")
            .arg(self.store.path())
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| {
                format!(
                    "cannot run {:?} ({e}); run scripts/test.sh, which installs it",
                    nats_server_bin()
                )
            })?;
        // The server logs "Server is ready" on stderr once it accepts clients; keep
        // draining stderr afterwards so the pipe never fills.
        let stderr = child.stderr.take().ok_or("no stderr pipe")?;
        let (ready_tx, ready_rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut ready_tx = Some(ready_tx);
            let mut seen = Vec::new();
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if std::env::var_os("TEST_LOG").is_some() {
                    eprintln!("[nats-server] {line}");
                }
                if line.contains("Server is ready") {
                    if let Some(tx) = ready_tx.take() {
                        let _ = tx.send(Ok(()));
                    }
                } else if ready_tx.is_some() {
                    seen.push(line);
                }
            }
            if let Some(tx) = ready_tx.take() {
                let _ = tx.send(Err(seen.join("\n")));
            }
        });
        match ready_rx.recv_timeout(WAIT) {
            Ok(Ok(())) => Ok(child),
            Ok(Err(output)) => {
                let _ = child.kill();
                let _ = child.wait();
                Err(format!("exited before it was ready:\n{output}"))
            }
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                Err(format!("not ready within {WAIT:?}"))
            }
        }
    }

    /// Kills the server (SIGKILL); the store directory stays.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it again on the same ports with the same store.
    pub fn restart(&mut self) {
        self.stop();
        self.spawn();
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A TCP proxy on loopback in front of a server that can hold all traffic for a while:
/// a network partition between one client (say, one worker) and NATS, while everyone
/// else still reaches it. Bytes sent meanwhile are delivered when it resumes. It can also
/// cut every open connection (a dropped network), and counts the connections it took.
#[derive(Debug)]
pub struct PausableProxy {
    /// Where clients connect.
    pub port: u16,
    paused: tokio::sync::watch::Sender<bool>,
    cuts: tokio::sync::watch::Sender<u64>,
    accepted: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl PausableProxy {
    /// Listens on a free loopback port and forwards every connection to `upstream`.
    pub async fn start(upstream: u16) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the proxy");
        let port = listener.local_addr().expect("proxy address").port();
        let (paused, watch) = tokio::sync::watch::channel(false);
        let (cuts, cut_watch) = tokio::sync::watch::channel(0u64);
        let accepted = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counter = accepted.clone();
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let Ok(server) = tokio::net::TcpStream::connect(("127.0.0.1", upstream)).await
                else {
                    continue;
                };
                counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let (client_read, client_write) = client.into_split();
                let (server_read, server_write) = server.into_split();
                let mut cut = cut_watch.clone();
                cut.mark_unchanged();
                tokio::spawn(pipe(client_read, server_write, watch.clone(), cut.clone()));
                tokio::spawn(pipe(server_read, client_write, watch.clone(), cut));
            }
        });
        Self {
            port,
            paused,
            cuts,
            accepted,
            task,
        }
    }

    /// Closes every connection open now (new ones are taken as usual).
    pub fn cut(&self) {
        self.cuts.send_modify(|n| *n += 1);
    }

    /// How many connections the proxy has taken so far.
    pub fn accepted(&self) -> usize {
        self.accepted.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// `nats://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// Holds (true) or resumes (false) all traffic.
    pub fn hold(&self, hold: bool) {
        let _ = self.paused.send(hold);
    }
}

impl Drop for PausableProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Copies `from` to `to`, waiting while `paused` is true before each chunk, until either
/// side closes or the connection is cut.
async fn pipe(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    mut paused: tokio::sync::watch::Receiver<bool>,
    mut cut: tokio::sync::watch::Receiver<u64>,
) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut buffer = vec![0u8; 64 * 1024];
    loop {
        let read = tokio::select! {
            read = from.read(&mut buffer) => read,
            _ = cut.changed() => return,
        };
        let Ok(n) = read else {
            return;
        };
        if n == 0 || paused.wait_for(|p| !*p).await.is_err() {
            return;
        }
        if to.write_all(&buffer[..n]).await.is_err() {
            return;
        }
    }
}

/// Three (or more) nats-server processes on loopback forming one JetStream cluster.
#[derive(Debug)]
pub struct NatsCluster {
    pub nodes: Vec<NatsServer>,
}

impl NatsCluster {
    /// Starts `size` nodes routed to each other and waits until JetStream has a meta
    /// leader.
    pub async fn start(size: usize) -> Self {
        let route_ports: Vec<u16> = (0..size).map(|_| free_port()).collect();
        let routes = route_ports
            .iter()
            .map(|p| format!("nats://127.0.0.1:{p}"))
            .collect::<Vec<_>>()
            .join(",");
        let mut nodes: Vec<NatsServer> = route_ports
            .iter()
            .enumerate()
            .map(|(i, port)| {
                NatsServer::unstarted(
                    format!("hast-node-{}", i + 1),
                    vec![
                        "--cluster_name".into(),
                        "hast-test".into(),
                        "--cluster".into(),
                        format!("nats://127.0.0.1:{port}"),
                        "--routes".into(),
                        routes.clone(),
                    ],
                )
            })
            .collect();
        // "Server is ready" comes before the routes and the meta group form, so the
        // nodes are started one after the other and then awaited together.
        for node in &mut nodes {
            node.spawn();
        }
        let cluster = Self { nodes };
        cluster.wait_healthy().await;
        cluster
    }

    /// Every node's client URL, comma-separated (what `NATS_URL` takes).
    pub fn urls(&self) -> String {
        self.nodes
            .iter()
            .map(NatsServer::url)
            .collect::<Vec<_>>()
            .join(",")
    }

    /// Waits until every running node reports JetStream healthy (`/healthz`: a meta
    /// leader is known and its assets are current).
    pub async fn wait_healthy(&self) {
        let client = plain_client();
        for node in self.nodes.iter().filter(|n| n.is_running()) {
            let url = format!("{}/healthz", node.monitor_url());
            eventually_within(
                &format!("{} to report JetStream healthy", node.name),
                Duration::from_secs(60),
                Duration::from_millis(100),
                || async {
                    let ok = client.get(&url).send().await.ok()?.status().is_success();
                    ok.then_some(())
                },
            )
            .await;
        }
    }

    /// The index of the node leading the raft group of `stream` (or of its consumer
    /// `consumer`), as the running nodes' monitoring endpoints report it.
    pub async fn leader_of(&self, stream: &str, consumer: Option<&str>) -> usize {
        let client = plain_client();
        eventually_within(
            &format!("a leader for {stream} {consumer:?}"),
            Duration::from_secs(60),
            Duration::from_millis(100),
            || async {
                for node in self.nodes.iter().filter(|n| n.is_running()) {
                    let url = format!(
                        "{}/jsz?streams=true&consumers=true&raft=true",
                        node.monitor_url()
                    );
                    let Ok(response) = client.get(&url).send().await else {
                        continue;
                    };
                    let Ok(jsz) = response.json::<Value>().await else {
                        continue;
                    };
                    if let Some(leader) = leader_in(&jsz, stream, consumer) {
                        if let Some(i) = self.nodes.iter().position(|n| n.name == leader) {
                            if self.nodes[i].is_running() {
                                return Some(i);
                            }
                        }
                    }
                }
                None
            },
        )
        .await
    }
}

/// The leader's name of `stream` (or its consumer) in a `/jsz` document.
fn leader_in(jsz: &Value, stream: &str, consumer: Option<&str>) -> Option<String> {
    let accounts = jsz["account_details"].as_array()?;
    for account in accounts {
        for detail in account["stream_detail"].as_array().into_iter().flatten() {
            if detail["name"] != stream {
                continue;
            }
            let cluster = match consumer {
                None => &detail["cluster"],
                Some(name) => &detail["consumer_detail"]
                    .as_array()?
                    .iter()
                    .find(|c| c["name"] == name)?["cluster"],
            };
            return cluster["leader"].as_str().map(str::to_owned);
        }
    }
    None
}

/// A database for one test: a SQLite file or a PostgreSQL database, removed on drop.
#[derive(Debug)]
pub struct TestDatabase {
    /// The `DATABASE_URL` of this database.
    pub url: String,
    backend: Backend,
    _dir: Option<tempfile::TempDir>,
    pg: Option<PgTestDb>,
}

#[derive(Debug)]
struct PgTestDb {
    admin_url: String,
    name: String,
}

/// The admin URL of the test PostgreSQL server (`scripts/test.sh` exports it).
pub fn postgres_admin_url() -> String {
    std::env::var("HAST_TEST_POSTGRES_URL").unwrap_or_else(|_| {
        panic!("HAST_TEST_POSTGRES_URL is not set: run the tests through scripts/test.sh, which starts PostgreSQL")
    })
}

/// Replaces the database name of a postgres URL.
fn with_database(url: &str, name: &str) -> String {
    let (base, _) = url.rsplit_once('/').expect("postgres URL with a database");
    format!("{base}/{name}")
}

impl TestDatabase {
    /// A fresh, empty database of the given backend.
    pub async fn new(backend: Backend) -> Self {
        match backend {
            Backend::Sqlite => Self::sqlite(),
            Backend::Postgres => Self::postgres().await,
        }
    }

    /// A fresh SQLite file in a temporary directory.
    pub fn sqlite() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}", dir.path().join("hast.db").display());
        Self {
            url,
            backend: Backend::Sqlite,
            _dir: Some(dir),
            pg: None,
        }
    }

    /// A fresh PostgreSQL database on the test server.
    pub async fn postgres() -> Self {
        let admin_url = postgres_admin_url();
        let name = format!("hast_test_{}", uuid::Uuid::now_v7().simple());
        let mut admin = AsyncPgConnection::establish(&admin_url)
            .await
            .expect("connect to the test PostgreSQL server");
        admin
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .await
            .expect("create the test database");
        Self {
            url: with_database(&admin_url, &name),
            backend: Backend::Postgres,
            _dir: None,
            pg: Some(PgTestDb { admin_url, name }),
        }
    }

    /// The backend.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// A connected, migrated [`Database`].
    pub async fn connect(&self) -> Database {
        let db = Database::connect(&self.url, 4).expect("database pool");
        db.run_migrations().await.expect("migrations");
        db
    }

    /// Refuses new connections and ends existing ones (PostgreSQL only): an outage.
    pub async fn block_connections(&self) {
        let pg = self
            .pg
            .as_ref()
            .expect("outages are simulated on PostgreSQL");
        let mut admin = AsyncPgConnection::establish(&pg.admin_url).await.unwrap();
        admin
            .batch_execute(&format!(
                "ALTER DATABASE {0} ALLOW_CONNECTIONS false; \
                 SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{0}';",
                pg.name
            ))
            .await
            .unwrap();
        // pg_terminate_backend only signals: a backend may still answer a query or two
        // until it has exited. And a backend that was starting while the ALTER committed
        // can pass the connection check and appear after the first terminate: terminate
        // again on every look. The outage starts when none is left.
        let terminate = format!(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{}';",
            pg.name
        );
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let _ = admin.batch_execute(&terminate).await;
            if self.sessions().await == 0 {
                break;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "timed out after {WAIT:?} waiting for the database's sessions to end"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// How many sessions are connected to this database (PostgreSQL only).
    async fn sessions(&self) -> i64 {
        self.count_sessions("").await
    }

    /// Sessions of this database matching `condition` (an SQL `AND …` clause).
    async fn count_sessions(&self, condition: &str) -> i64 {
        #[derive(diesel::QueryableByName)]
        struct Count {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        let pg = self.pg.as_ref().expect("PostgreSQL");
        let mut admin = AsyncPgConnection::establish(&pg.admin_url).await.unwrap();
        let count: Count = diesel_async::RunQueryDsl::get_result(
            diesel::sql_query(format!(
                "SELECT count(*) AS n FROM pg_stat_activity WHERE datname = '{}' {condition}",
                pg.name
            )),
            &mut admin,
        )
        .await
        .unwrap();
        count.n
    }

    /// Runs `sql` (say, a `LOCK TABLE`) in a transaction on a connection of its own and
    /// keeps the transaction open until the returned guard is dropped (PostgreSQL only).
    pub async fn hold_lock(&self, sql: &str) -> HeldLock {
        assert_eq!(
            self.backend,
            Backend::Postgres,
            "locks are held on PostgreSQL"
        );
        let url = self.url.clone();
        let sql = sql.to_owned();
        let (held_tx, held_rx) = tokio::sync::oneshot::channel();
        let (release_tx, release_rx) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(async move {
            let mut conn = AsyncPgConnection::establish(&url).await.unwrap();
            conn.batch_execute(&format!("BEGIN; {sql}")).await.unwrap();
            let _ = held_tx.send(());
            let _ = release_rx.await;
            let _ = conn.batch_execute("ROLLBACK").await;
        });
        held_rx.await.expect("the lock is taken");
        HeldLock {
            _release: release_tx,
        }
    }

    /// How many sessions of this database wait for a lock (PostgreSQL only).
    pub async fn waiting_on_locks(&self) -> i64 {
        self.count_sessions("AND wait_event_type = 'Lock'").await
    }

    /// Ends an outage started by [`Self::block_connections`].
    pub async fn allow_connections(&self) {
        let pg = self.pg.as_ref().expect("PostgreSQL");
        let mut admin = AsyncPgConnection::establish(&pg.admin_url).await.unwrap();
        admin
            .batch_execute(&format!(
                "ALTER DATABASE {} ALLOW_CONNECTIONS true",
                pg.name
            ))
            .await
            .unwrap();
    }
}

/// A transaction kept open by [`TestDatabase::hold_lock`]; dropping it rolls it back.
#[derive(Debug)]
pub struct HeldLock {
    _release: tokio::sync::oneshot::Sender<()>,
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let Some(pg) = self.pg.take() else { return };
        // Drop runs outside async context: use a throwaway runtime on its own thread.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            rt.block_on(async {
                let mut admin = AsyncPgConnection::establish(&pg.admin_url).await.ok()?;
                admin
                    .batch_execute(&format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", pg.name))
                    .await
                    .ok()
            })
        })
        .join();
    }
}

/// Settings for a test: loopback, port 0, the given database and NATS, plus overrides.
pub fn test_settings(database_url: &str, nats_url: &str, overrides: &[(&str, &str)]) -> Settings {
    let mut vars: HashMap<String, String> = [
        ("APP_ENV", "development"),
        ("BIND_ADDR", "127.0.0.1:0"),
        ("WORKER_METRICS_ADDR", "127.0.0.1:0"),
        ("DATABASE_URL", database_url),
        ("DATABASE_POOL_SIZE", "4"),
        ("NATS_URL", nats_url),
        // Tests submit thousands of echo jobs as one user; the quota has its own test.
        ("JOBS_PER_HOUR", "0"),
        // Tests ask several questions with no worker to answer them; the in-flight cap
        // has its own test.
        ("QUESTIONS_IN_FLIGHT", "1000"),
        // Every test registers its accounts from 127.0.0.1; the registration limit
        // has its own test.
        ("REGISTRATIONS_PER_HOUR", "10000"),
        // nats-server refuses streams whose max_bytes exceed its file store, which is
        // three quarters of the free disk by default: with the production budget (9 GiB)
        // a fuller disk failed bootstrap ("insufficient storage resources"). 1 GiB keeps
        // the tests independent of the disk; storage.rs sets its own.
        ("JETSTREAM_MAX_BYTES", "1073741824"),
    ]
    .iter()
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect();
    for (k, v) in overrides {
        vars.insert((*k).to_owned(), (*v).to_owned());
    }
    Settings::from_lookup(|k| vars.get(k).cloned()).expect("valid test settings")
}

/// A running API and what a test needs to talk to it.
#[derive(Debug)]
pub struct TestApp {
    pub addr: SocketAddr,
    /// Signed in as [`TestApp::user`] with a bearer token.
    pub client: reqwest::Client,
    /// No credentials at all.
    pub anonymous: reqwest::Client,
    /// The account `client` is signed in as.
    pub user: TestUser,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    /// Resolves when the API's runtime thread has finished.
    done: Option<tokio::sync::oneshot::Receiver<()>>,
}

impl TestApp {
    /// `http://127.0.0.1:<port><path>`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// GET `path`.
    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(self.url(path)).send().await.expect("GET")
    }

    /// Uploads the synthetic palm of `seed` (JPEG, field `image`) with `client`; the
    /// response, whatever its status.
    pub async fn post_palm(&self, client: &reqwest::Client, seed: u64) -> reqwest::Response {
        client
            .post(self.url("/api/v1/analyses"))
            .multipart(palm_form(seed))
            .send()
            .await
            .expect("POST /api/v1/analyses")
    }

    /// Uploads the synthetic palm of `seed` as [`TestApp::user`], expecting 202:
    /// `(analysis id, job id)`.
    pub async fn upload_palm(&self, seed: u64) -> (String, String) {
        let response = self.post_palm(&self.client, seed).await;
        assert_eq!(response.status().as_u16(), 202, "the upload is accepted");
        let body: serde_json::Value = response.json().await.expect("the upload's JSON");
        let id = |v: &serde_json::Value| v.as_str().expect("an id").to_owned();
        (id(&body["analysis"]["id"]), id(&body["job"]["id"]))
    }

    /// Stops the server gracefully and waits for it.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(done) = self.done.take() {
            let _ = done.await;
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// An account created through the API.
#[derive(Debug, Clone)]
pub struct TestUser {
    pub id: String,
    pub email: String,
    pub password: String,
    pub token: String,
}

/// A client that sends `Authorization: Bearer <token>` on every request.
pub fn bearer_client(token: &str) -> reqwest::Client {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        reqwest::header::AUTHORIZATION,
        format!("Bearer {token}").parse().expect("header value"),
    );
    reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .default_headers(headers)
        .build()
        .expect("HTTP client")
}

/// A client without credentials (and without a cookie jar).
pub fn plain_client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("HTTP client")
}

/// Registers a fresh account on the API at `base` (`http://host:port`).
pub async fn register_user(base: &str) -> TestUser {
    let email = format!("user-{}@example.com", uuid::Uuid::now_v7().simple());
    let password = "a long test password".to_owned();
    let response = plain_client()
        .post(format!("{base}/api/v1/auth/register"))
        .json(&serde_json::json!({"email": email, "password": password}))
        .send()
        .await
        .expect("POST register");
    assert_eq!(response.status().as_u16(), 201, "register");
    let body: Value = response.json().await.expect("JSON");
    TestUser {
        id: body["user"]["id"].as_str().expect("user id").to_owned(),
        email,
        password,
        token: body["token"].as_str().expect("token").to_owned(),
    }
}

impl TestApp {
    /// `http://127.0.0.1:<port>`.
    pub fn base(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Registers another account on this API.
    pub async fn new_user(&self) -> TestUser {
        register_user(&self.base()).await
    }
}

/// Builds and starts the API in this process, and signs a fresh account in.
pub async fn spawn_app(settings: Settings) -> TestApp {
    init_test_logging();
    // The API runs on its own runtime, built exactly as `hast-api` builds it (the
    // same worker stack size), on a thread of its own.
    let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let (done_tx, done_rx) = tokio::sync::oneshot::channel::<()>();
    std::thread::Builder::new()
        .name("hast-api-test".into())
        // Like a process's main thread (which `hast-api` blocks on): 8 MiB.
        .stack_size(8 * 1024 * 1024)
        .spawn(move || {
            let runtime = hast_api::runtime(2).build().expect("API runtime");
            runtime.block_on(async move {
                match hast_api::Application::build(settings).await {
                    Ok(app) => {
                        let _ = ready_tx.send(Ok(app.local_addr()));
                        app.run_until_stopped(async {
                            let _ = stop_rx.await;
                        })
                        .await;
                    }
                    Err(err) => {
                        let _ = ready_tx.send(Err(err.to_string()));
                    }
                }
            });
            drop(runtime);
            let _ = done_tx.send(());
        })
        .expect("API thread");
    let addr = ready_rx
        .await
        .expect("the API thread reports")
        .unwrap_or_else(|e| panic!("the API starts: {e}"));
    let tx = stop_tx;
    let user = register_user(&format!("http://{addr}")).await;
    TestApp {
        addr,
        client: bearer_client(&user.token),
        anonymous: plain_client(),
        user,
        shutdown: Some(tx),
        done: Some(done_rx),
    }
}

/// A running worker.
#[derive(Debug)]
pub struct TestWorker {
    /// This worker's id (its key in the `workers` bucket).
    pub id: String,
    /// Where it serves `/healthz`.
    pub metrics_addr: Option<SocketAddr>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl TestWorker {
    /// Requests a graceful stop and waits until the worker has finished.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for TestWorker {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// Builds and starts a worker in this process. When this returns, the worker's first
/// heartbeat has been written.
pub async fn spawn_worker(settings: Settings) -> TestWorker {
    init_test_logging();
    let worker = hast_worker::Worker::build(settings)
        .await
        .expect("the worker starts");
    let id = worker.identity.id.clone();
    let metrics_addr = worker.metrics_addr();
    let workers = worker.topology.workers.clone();
    let (tx, rx) = tokio::sync::oneshot::channel();
    let task = tokio::spawn(worker.run_until_stopped(async {
        let _ = rx.await;
    }));
    // Wait for the first heartbeat (an event in the bucket, not a sleep).
    let mut watch = workers
        .watch_with_history(id.as_str())
        .await
        .expect("watch");
    tokio::time::timeout(WAIT, futures::StreamExt::next(&mut watch))
        .await
        .expect("the worker's first heartbeat");
    TestWorker {
        id,
        metrics_addr,
        shutdown: Some(tx),
        task: Some(task),
    }
}

/// Polls `probe` until it returns `Some`, failing the test after [`WAIT`]. For
/// conditions that have no event to await (e.g. an HTTP status changing after an
/// outage); `interval` is the polling period, not a synchronisation sleep.
pub async fn eventually<T, F, Fut>(what: &str, interval: Duration, probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    eventually_within(what, WAIT, interval, probe).await
}

/// [`eventually`] with another limit than [`WAIT`].
pub async fn eventually_within<T, F, Fut>(
    what: &str,
    limit: Duration,
    interval: Duration,
    mut probe: F,
) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        if let Some(value) = probe().await {
            return value;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out after {limit:?} waiting for {what}"
        );
        tokio::time::sleep(interval).await;
    }
}

/// A file the `echo` handler appends each of its runs to (`ECHO_EXECUTION_LOG`): tests
/// count executions, not rows, so "exactly once" can fail.
#[derive(Debug)]
pub struct ExecutionLog {
    _dir: tempfile::TempDir,
    path: String,
}

impl Default for ExecutionLog {
    fn default() -> Self {
        let dir = tempfile::tempdir().expect("temp dir for the execution log");
        let path = dir
            .path()
            .join("executions.log")
            .to_string_lossy()
            .into_owned();
        Self { _dir: dir, path }
    }
}

impl ExecutionLog {
    /// The `ECHO_EXECUTION_LOG` setting that writes to this log.
    pub fn setting(&self) -> (&'static str, &str) {
        ("ECHO_EXECUTION_LOG", &self.path)
    }

    /// Runs of the handler per job id.
    pub fn counts(&self) -> HashMap<String, usize> {
        let text = std::fs::read_to_string(&self.path).unwrap_or_default();
        let mut counts = HashMap::new();
        for id in text.lines().filter_map(|l| l.split_whitespace().next()) {
            *counts.entry(id.to_owned()).or_insert(0) += 1;
        }
        counts
    }

    /// Runs of the handler for `job_id`.
    pub fn count(&self, job_id: &str) -> usize {
        self.counts().get(job_id).copied().unwrap_or(0)
    }
}

/// Job helpers: observe statuses directly in KV, as operators would.
pub mod jobs {
    use futures::StreamExt;
    use hast_common::jobs::{JobState, JobStatus, StatusStore};
    use serde_json::Value;

    use super::{TestApp, WAIT};

    /// A status store on the test's NATS server.
    pub async fn status_store(nats_url: &str) -> StatusStore {
        let client = async_nats::connect(nats_url).await.expect("NATS");
        let js = async_nats::jetstream::new(client);
        StatusStore::new(
            js.get_key_value("job_status")
                .await
                .expect("job_status bucket"),
            js.get_key_value("job_owners")
                .await
                .expect("job_owners bucket"),
        )
    }

    /// `POST /api/v1/jobs` and the decoded answer.
    pub async fn submit(app: &TestApp, kind: &str, payload: Value) -> (u16, Value) {
        submit_with(app, kind, payload, None).await
    }

    /// `POST /api/v1/jobs` with an optional `Idempotency-Key`.
    pub async fn submit_with(
        app: &TestApp,
        kind: &str,
        payload: Value,
        key: Option<&str>,
    ) -> (u16, Value) {
        let mut request = app
            .client
            .post(app.url("/api/v1/jobs"))
            .json(&serde_json::json!({"kind": kind, "payload": payload}));
        if let Some(key) = key {
            request = request.header("idempotency-key", key);
        }
        let response = request.send().await.expect("POST /api/v1/jobs");
        let status = response.status().as_u16();
        (status, response.json().await.expect("JSON body"))
    }

    /// Submits and asserts 202; returns the job id.
    pub async fn submit_ok(app: &TestApp, kind: &str, payload: Value) -> String {
        let (status, body) = submit(app, kind, payload).await;
        assert_eq!(status, 202, "{body}");
        body["id"].as_str().expect("job id").to_owned()
    }

    /// Waits (on the KV watch, not by polling) until the job reaches `state`.
    pub async fn wait_for(statuses: &StatusStore, id: &str, state: JobState) -> JobStatus {
        let follow = async {
            let mut updates = std::pin::pin!(statuses.follow(id).await.expect("follow"));
            let mut last = None;
            while let Some(status) = updates.next().await {
                if status.status == state {
                    return status;
                }
                last = Some(status);
            }
            panic!("job {id} ended as {last:?}, never {state:?}");
        };
        tokio::time::timeout(WAIT, follow)
            .await
            .unwrap_or_else(|_| panic!("job {id} did not become {state:?} within {WAIT:?}"))
    }

    /// The ids of `owner`'s jobs of `kind`, e.g. the thumbnail jobs their uploads queued.
    pub async fn jobs_of_kind(statuses: &StatusStore, owner: &str, kind: &str) -> Vec<String> {
        statuses
            .owned_by(owner)
            .await
            .expect("the job statuses")
            .into_iter()
            .filter(|(_, status)| status.kind == kind)
            .map(|(_, status)| status.id)
            .collect()
    }

    /// Every revision of a job's status still in KV, oldest first.
    pub async fn history(nats_url: &str, id: &str) -> Vec<JobStatus> {
        let client = async_nats::connect(nats_url).await.expect("NATS");
        let kv = async_nats::jetstream::new(client)
            .get_key_value("job_status")
            .await
            .expect("bucket");
        let mut entries = kv.history(id).await.expect("history");
        let mut out = Vec::new();
        while let Some(Ok(entry)) = entries.next().await {
            if let Ok(status) = serde_json::from_slice(&entry.value) {
                out.push(status);
            }
        }
        out
    }
}

/// The path of a workspace binary built next to the running test (`cargo build` is
/// run once per test process so it is current).
pub fn workspace_binary(name: &str) -> PathBuf {
    static BUILD: Once = Once::new();
    BUILD.call_once(|| {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        // The same command and environment as scripts/test.sh's build step, so it is a
        // no-op after it: the variables cargo sets for a running test (CARGO_PKG_*, …)
        // would otherwise look like changed inputs to some build scripts.
        let mut command = Command::new(cargo);
        command
            .args(["build", "--quiet", "--workspace", "--bins"])
            .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
            .env_clear();
        for key in [
            "PATH",
            "HOME",
            "CARGO_HOME",
            "RUSTUP_HOME",
            "RUSTUP_TOOLCHAIN",
            "CARGO_TARGET_DIR",
        ] {
            if let Some(value) = std::env::var_os(key) {
                command.env(key, value);
            }
        }
        let status = command.status().expect("run cargo build");
        assert!(status.success(), "cargo build of the binaries failed");
    });
    let exe = std::env::current_exe().expect("test executable path");
    // target/<profile>/deps/<test> → target/<profile>/<name>
    let dir = exe
        .parent()
        .and_then(|d| d.parent())
        .expect("target profile directory");
    dir.join(name)
}

/// The synthetic palm of `seed` as a JPEG, in a multipart form's `image` field.
pub fn palm_form(seed: u64) -> reqwest::multipart::Form {
    use hast_palm_synth::synth::{self, SynthSpec};
    let palm = synth::generate(&SynthSpec::palm(seed));
    reqwest::multipart::Form::new().part(
        "image",
        reqwest::multipart::Part::bytes(synth::to_jpeg(&palm.image, 90))
            .file_name("palm.jpg")
            .mime_str("image/jpeg")
            .expect("a valid MIME type"),
    )
}

/// A workspace binary's command with a clean environment: `PATH`, the database, NATS,
/// `RUST_LOG=warn`, the tests' `JETSTREAM_MAX_BYTES`, `extra`, and its stdout shown
/// only with `TEST_LOG`. Every test that starts a service process starts it from here.
pub fn service_command(
    binary: &str,
    database_url: &str,
    nats_url: &str,
    extra: &[(&str, &str)],
) -> Command {
    let mut command = Command::new(workspace_binary(binary));
    command
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("DATABASE_URL", database_url)
        .env("NATS_URL", nats_url)
        .env("RUST_LOG", "warn")
        // As in `test_settings`: independent of the free disk.
        .env("JETSTREAM_MAX_BYTES", "1073741824")
        .stdout(if std::env::var_os("TEST_LOG").is_some() {
            Stdio::inherit()
        } else {
            Stdio::null()
        });
    for (k, v) in extra {
        command.env(k, v);
    }
    command
}

/// A memory figure of process `pid` from `/proc/<pid>/status` (`VmRSS`, `VmHWM`), in bytes.
pub fn memory_of(pid: u32, field: &str) -> u64 {
    let status =
        std::fs::read_to_string(format!("/proc/{pid}/status")).expect("the process's /proc status");
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map(|kb| kb * 1024)
        .unwrap_or_else(|| panic!("{field} in /proc/{pid}/status"))
}

/// A `hast-api` running as a separate process (its memory can be measured on its own).
#[derive(Debug)]
pub struct ApiProcess {
    child: Child,
    /// Where it listens.
    pub addr: SocketAddr,
}

impl ApiProcess {
    /// Starts `hast-api` in development mode on a free loopback port with the given
    /// environment, and waits until it answers its health check.
    pub async fn start(database_url: &str, nats_url: &str, env: &[(&str, &str)]) -> Self {
        let addr = SocketAddr::from(([127, 0, 0, 1], free_port()));
        let bind = addr.to_string();
        let mut settings = vec![("APP_ENV", "development"), ("BIND_ADDR", bind.as_str())];
        settings.extend_from_slice(env);
        let mut command = service_command("hast-api", database_url, nats_url, &settings);
        let api = Self {
            child: command.spawn().expect("start hast-api"),
            addr,
        };
        let client = plain_client();
        let health = api.url("/api/v1/health");
        eventually("hast-api answers", Duration::from_millis(50), || {
            let request = client.get(&health).send();
            async move { request.await.ok().map(|_| ()) }
        })
        .await;
        api
    }

    /// `http://<addr><path>`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// The process's peak resident memory so far (`VmHWM`), in bytes.
    pub fn peak_rss(&self) -> u64 {
        memory_of(self.child.id(), "VmHWM")
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

impl Drop for ApiProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A `hast-worker` running as a separate process (so it can be killed).
#[derive(Debug)]
pub struct WorkerProcess {
    child: Child,
}

impl WorkerProcess {
    /// Starts `hast-worker` with the given environment, on a free metrics port.
    pub fn start(database_url: &str, nats_url: &str, env: &[(&str, &str)]) -> Self {
        let metrics = format!("127.0.0.1:{}", free_port());
        let mut settings = vec![("WORKER_METRICS_ADDR", metrics.as_str())];
        settings.extend_from_slice(env);
        let mut command = service_command("hast-worker", database_url, nats_url, &settings);
        Self {
            child: command.spawn().expect("start hast-worker"),
        }
    }

    /// SIGKILL: no chance to clean up.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Sends a signal (`TERM`, `INT`, …) with the `kill` command.
    pub fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .arg(format!("-{name}"))
            .arg(self.child.id().to_string())
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -{name} failed");
    }

    /// The exit code if the process has exited (`Some(None)`: killed by a signal).
    pub fn exit_status(&mut self) -> Option<Option<i32>> {
        self.child
            .try_wait()
            .expect("try_wait")
            .map(|status| status.code())
    }

    /// Waits (up to [`WAIT`]) for the process to exit; its exit code.
    pub async fn exited(&mut self) -> Option<i32> {
        let deadline = std::time::Instant::now() + WAIT;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return status.code();
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the worker did not exit"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for WorkerProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

/// What most end-to-end tests start from: a nats-server, a database of `backend` and the
/// API (which creates the topology), with settings shared by every process of the test;
/// workers are started on demand ([`TestStack::worker`]) or with the stack
/// ([`TestStackBuilder::with_worker`]). Like crates.io's `TestApp` builder.
#[derive(Debug)]
pub struct TestStack {
    pub nats: NatsServer,
    pub db: TestDatabase,
    pub app: TestApp,
    pub statuses: hast_common::jobs::StatusStore,
    pub js: async_nats::jetstream::Context,
    shared: Vec<(String, String)>,
    workers: Vec<TestWorker>,
}

/// Makes an area file's `struct Stack` that wraps a [`TestStack`] in field `$field`
/// usable as one (`Deref` and `DerefMut`), so it only adds its own helpers.
#[macro_export]
macro_rules! wraps_test_stack {
    ($wrapper:ty, $field:tt) => {
        impl std::ops::Deref for $wrapper {
            type Target = $crate::TestStack;
            fn deref(&self) -> &$crate::TestStack {
                &self.$field
            }
        }

        impl std::ops::DerefMut for $wrapper {
            fn deref_mut(&mut self) -> &mut $crate::TestStack {
                &mut self.$field
            }
        }
    };
}

/// Builds a [`TestStack`].
#[derive(Debug)]
pub struct TestStackBuilder {
    backend: Backend,
    shared: Vec<(String, String)>,
    api: Vec<(String, String)>,
    workers: usize,
}

fn owned(settings: &[(&str, &str)]) -> Vec<(String, String)> {
    settings
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

impl TestStackBuilder {
    /// Settings of the API and of every worker (on top of [`test_settings`]).
    pub fn shared(mut self, settings: &[(&str, &str)]) -> Self {
        self.shared.extend(owned(settings));
        self
    }

    /// Settings of the API only.
    pub fn api(mut self, settings: &[(&str, &str)]) -> Self {
        self.api.extend(owned(settings));
        self
    }

    /// Starts a worker (with the shared settings) with the stack.
    pub fn with_worker(mut self) -> Self {
        self.workers += 1;
        self
    }

    pub async fn start(self) -> TestStack {
        Box::pin(self.build()).await
    }

    async fn build(self) -> TestStack {
        let nats = NatsServer::start();
        let db = TestDatabase::new(self.backend).await;
        let api: Vec<(String, String)> = self.shared.iter().chain(&self.api).cloned().collect();
        let app = spawn_app(settings_from(&db.url, &nats.url(), &api)).await;
        let statuses = jobs::status_store(&nats.url()).await;
        let js = async_nats::jetstream::new(async_nats::connect(nats.url()).await.expect("NATS"));
        let mut stack = TestStack {
            nats,
            db,
            app,
            statuses,
            js,
            shared: self.shared,
            workers: Vec::new(),
        };
        for _ in 0..self.workers {
            let worker = stack.worker(&[]).await;
            stack.workers.push(worker);
        }
        stack
    }
}

fn settings_from(database_url: &str, nats_url: &str, settings: &[(String, String)]) -> Settings {
    let pairs: Vec<(&str, &str)> = settings
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    test_settings(database_url, nats_url, &pairs)
}

impl TestStack {
    pub fn builder(backend: Backend) -> TestStackBuilder {
        TestStackBuilder {
            backend,
            shared: Vec::new(),
            api: Vec::new(),
            workers: 0,
        }
    }

    /// A worker's settings: the shared ones, then `extra`.
    pub fn worker_settings(&self, extra: &[(&str, &str)]) -> Settings {
        let all: Vec<(String, String)> = self.shared.iter().cloned().chain(owned(extra)).collect();
        settings_from(&self.db.url, &self.nats.url(), &all)
    }

    /// Starts a worker with the shared settings and `extra`.
    pub async fn worker(&self, extra: &[(&str, &str)]) -> TestWorker {
        // Boxed: a worker's start-up future is large for a test thread's 2 MiB stack.
        Box::pin(spawn_worker(self.worker_settings(extra))).await
    }

    /// A connection pool on the stack's database.
    pub async fn database(&self) -> Database {
        self.db.connect().await
    }
}
