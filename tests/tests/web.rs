//! The web page in a real headless Chromium (issue #13): the journeys a person takes,
//! the refusals they can meet, a phone-sized screen, and an accessibility check with
//! axe-core on each main view. Screenshots land in `target/screenshots/`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use hast_palm_synth::synth::{self, SynthSpec};
use hast_tests::browser::Browser;
use hast_tests::{
    spawn_app, spawn_worker, test_settings, NatsServer, TestApp, TestDatabase, TestWorker,
};

/// WebDriver's Tab and Enter keys.
const TAB: &str = "\u{e004}";
const ENTER: &str = "\u{e007}";

struct Site {
    _nats: NatsServer,
    _db: TestDatabase,
    app: TestApp,
    settings: hast_common::config::Settings,
    worker: Option<TestWorker>,
    photos: tempfile::TempDir,
}

impl Site {
    async fn start(overrides: &[(&str, &str)]) -> Self {
        let mut site = Self::without_worker(overrides).await;
        site.start_worker().await;
        site
    }

    /// The API alone: jobs wait in the queue until [`Site::start_worker`].
    async fn without_worker(overrides: &[(&str, &str)]) -> Self {
        let nats = NatsServer::start();
        let db = TestDatabase::sqlite();
        let settings = test_settings(&db.url, &nats.url(), overrides);
        let app = spawn_app(settings.clone()).await;
        Self {
            _nats: nats,
            _db: db,
            app,
            settings,
            worker: None,
            photos: tempfile::tempdir().unwrap(),
        }
    }

    async fn start_worker(&mut self) {
        self.worker = Some(spawn_worker(self.settings.clone()).await);
    }

    fn url(&self, path: &str) -> String {
        self.app.url(path)
    }

    /// A photo file on disk, as a person would pick it.
    fn photo(&self, name: &str, spec: &SynthSpec) -> String {
        let path = self.photos.path().join(name);
        std::fs::write(&path, synth::to_jpeg(&synth::generate(spec).image, 90)).unwrap();
        path.display().to_string()
    }

    fn file(&self, name: &str, bytes: &[u8]) -> String {
        let path = self.photos.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        path.display().to_string()
    }

    async fn stop(self) {
        if let Some(worker) = self.worker {
            worker.stop().await;
        }
        self.app.stop().await;
    }
}

/// Picks `file` in the slot whose input is `#photo-<field>` (the form is not sent).
async fn upload(browser: &Browser, field: &str, file: &str) {
    browser
        .find(&format!("#photo-{field}"))
        .await
        .send_keys(file)
        .await
        .unwrap();
}

/// Picks `file` as the one palm to read and sends the form.
async fn send_photo(browser: &Browser, file: &str) {
    upload(browser, "image", file).await;
    browser
        .click("form.upload button[type=submit]:not([disabled])")
        .await;
}

/// Fills in the sign-up form on the page and sends it; the new account's email.
async fn sign_up(browser: &Browser, name: &str, password: &str) -> String {
    let email = format!("{name}-{}@example.com", uuid::Uuid::now_v7().simple());
    browser.type_into("#signup-email", &email).await;
    browser.type_into("#signup-password", password).await;
    browser.click("form.auth button[type=submit]").await;
    email
}

/// The page is no wider than the window (nothing to scroll sideways on a phone).
async fn assert_no_sideways_scrolling(browser: &Browser) {
    let overflow = browser
        .eval("return document.documentElement.scrollWidth - window.innerWidth")
        .await;
    assert!(
        overflow.as_i64().unwrap() <= 0,
        "no sideways scrolling: {overflow}"
    );
}

async fn assert_accessible(browser: &Browser, view: &str) {
    let violations = browser.serious_accessibility_violations().await;
    assert!(
        violations.is_empty(),
        "{view}: serious accessibility violations: {violations:#?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_guest_reads_a_palm_signs_up_asks_and_deletes_everything() {
    let site = Site::start(&[]).await;
    let browser = Browser::start(1280, 900).await;
    let photo = site.photo("palm.jpg", &SynthSpec::palm(11));

    browser.open(&site.url("/")).await;
    browser.wait_for_text("main h1", "Read your palm").await;
    assert_accessible(&browser, "upload").await;
    browser.screenshot("upload").await;
    send_photo(&browser, &photo).await;

    // Progress, then the guest's summary and the invitation.
    browser.wait_for("#invite-title").await;
    assert!(browser
        .client
        .current_url()
        .await
        .unwrap()
        .path()
        .starts_with("/readings/"));
    assert!(
        browser
            .client
            .find(fantoccini::Locator::Css(".lines"))
            .await
            .is_err(),
        "a guest sees no lines"
    );
    assert_accessible(&browser, "guest summary").await;

    // Signing up on that page claims the reading: the full reading appears.
    sign_up(&browser, "web", "a palm full of lines").await;
    browser.wait_for(".lines button.line-name").await;
    browser.wait_for_text("main h1", "Your palm reading").await;
    let lines = browser
        .eval("return [...document.querySelectorAll('.lines button.line-name')].map(b => b.textContent)")
        .await;
    let lines = lines.as_array().unwrap();
    assert!(
        lines
            .iter()
            .any(|l| l.as_str().unwrap().contains("Heart line")),
        "{lines:?}"
    );
    assert!(
        lines.iter().any(|l| l.as_str().unwrap().contains("Hriday")),
        "Hindi names too: {lines:?}"
    );
    // Choosing a line highlights its trace on the photo.
    browser.click(".lines button.line-name").await;
    let selected = browser
        .eval("return document.querySelectorAll('polyline.trace.selected').length")
        .await;
    assert_eq!(selected, 1);
    assert_accessible(&browser, "full reading").await;
    browser.screenshot("reading").await;

    // A conversation: start, ask, watch the answer arrive.
    browser.click(".conversations > button").await;
    browser
        .type_into(".conversation textarea", "What does my heart line say?")
        .await;
    browser
        .click(".conversation form.ask button[type=submit]")
        .await;
    browser.wait_for(".says.assistant").await;
    // Rename it (the browser's prompt), then delete it (its confirmation).
    browser.click(".conversation .actions button").await;
    browser
        .client
        .send_alert_text("About my heart line")
        .await
        .unwrap();
    browser.client.accept_alert().await.unwrap();
    browser
        .wait_for_text(".conversation h3", "About my heart line")
        .await;
    browser
        .click(".conversation .actions button:last-child")
        .await;
    browser.client.accept_alert().await.unwrap();
    browser.wait_for(".conversation-list:empty").await;

    // The history shows it with its thumbnail; deleting it empties the history.
    browser.click("a[href='/readings']").await;
    browser.wait_for_text("main h1", "Your readings").await;
    browser.wait_for(".history .card img").await;
    assert_accessible(&browser, "history").await;
    browser.click(".history .card button").await;
    browser.client.accept_alert().await.unwrap();
    browser.wait_for(".history:empty").await;

    // Deleting the account needs the confirmation, then signs out.
    browser.click("a[href='/account']").await;
    browser.wait_for_text("main h1", "Your account").await;
    assert_accessible(&browser, "account").await;
    browser.click(".danger-zone button[type=submit]").await;
    browser
        .wait_for_text(".danger-zone .message", "Tick the box")
        .await;
    browser.click("#confirm-delete").await;
    browser.click(".danger-zone button[type=submit]").await;
    browser
        .wait_for_text(".danger-zone .message", "current password")
        .await;
    browser
        .type_into("#delete-password", "a palm full of lines")
        .await;
    browser.click(".danger-zone button[type=submit]").await;
    browser.wait_for_text("main h1", "Read your palm").await;
    browser.wait_for("nav a[href='/login']").await;
    let me = site
        .app
        .anonymous
        .get(site.url("/api/v1/auth/me"))
        .send()
        .await
        .unwrap();
    assert_eq!(me.status().as_u16(), 401);
    let errors = browser.console_errors().await;
    assert!(errors.is_empty(), "console errors: {errors:#?}");
    browser.close().await;
    site.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_and_unusable_photos_are_explained_in_plain_words() {
    let site = Site::start(&[("MAX_UPLOAD_BYTES", "200000"), ("GUEST_MAX_ANALYSES", "1")]).await;
    let browser = Browser::start(1280, 900).await;
    browser.open(&site.url("/")).await;

    // Checked before sending: not a photo, and too large.
    let text = site.file("notes.txt", b"not a photo");
    upload(&browser, "image", &text).await;
    browser
        .wait_for_text(".drop-zone .message.error", "is not a photo we can read")
        .await;
    let big = site.file("big.png", &vec![0u8; 300_000]);
    upload(&browser, "image", &big).await;
    browser
        .wait_for_text(".drop-zone .message.error", "photos can be at most")
        .await;
    let disabled = browser
        .eval("return document.querySelector('form.upload button[type=submit]').disabled")
        .await;
    assert_eq!(disabled, true, "nothing to send");

    // A photo the engine cannot read: retake advice.
    let mut dark = SynthSpec::palm(3);
    dark.exposure = 0.15;
    let photo = site.photo("dark.jpg", &dark);
    send_photo(&browser, &photo).await;
    browser.wait_for_text("main h1", "another photo").await;
    browser.wait_for(".retake li").await;
    assert_accessible(&browser, "retake advice").await;

    // A refusal from the server: this guest has used their one reading.
    browser.click("nav a[href='/']").await;
    let photo = site.photo("palm.jpg", &SynthSpec::palm(5));
    send_photo(&browser, &photo).await;
    browser
        .wait_for_text("form.upload > .message.error", "Create a free account")
        .await;
    browser.close().await;
    site.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hands_on_a_phone_sized_screen() {
    let site = Site::start(&[]).await;
    let browser = Browser::start(360, 780).await;
    let mut left = SynthSpec::palm(21);
    left.side = hast_palm::HandSide::Left;
    let mut right = SynthSpec::palm(22);
    right.side = hast_palm::HandSide::Right;
    let (left, right) = (
        site.photo("left.jpg", &left),
        site.photo("right.jpg", &right),
    );

    // Signed in first, so the full reading shows.
    browser.open(&site.url("/signup")).await;
    assert_accessible(&browser, "sign-up").await;
    let email = sign_up(&browser, "phone", "two hands two palms").await;
    browser.wait_for_text("main h1", "Your readings").await;
    // Sign out, then in again (a wrong password first).
    browser.click("nav button.link").await;
    browser.wait_for("nav a[href='/login']").await;
    browser.click("nav a[href='/login']").await;
    assert_accessible(&browser, "sign-in").await;
    browser.type_into("#login-email", &email).await;
    browser
        .type_into("#login-password", "not my password")
        .await;
    browser.click("form.auth button[type=submit]").await;
    browser
        .wait_for_text("form.auth .message.error", "do not match")
        .await;
    // Then with the keyboard alone, from the heading the page focused.
    browser.find("#login-password").await.clear().await.unwrap();
    browser.find("#login-email").await.clear().await.unwrap();
    browser.click("nav a[href='/login']").await;
    browser.wait_for_text("main h1", "Sign in").await;
    let focused = browser.eval("return document.activeElement.tagName").await;
    assert_eq!(focused, "H1", "a new view moves focus to its heading");
    for keys in [TAB, email.as_str(), TAB, "two hands two palms", ENTER] {
        browser
            .client
            .active_element()
            .await
            .unwrap()
            .send_keys(keys)
            .await
            .unwrap();
    }
    browser.wait_for_text("main h1", "Your readings").await;
    browser.click("nav a[href='/']").await;
    browser.click("input[name=mode][value=two]").await;
    upload(&browser, "left", &left).await;
    upload(&browser, "right", &right).await;
    assert_no_sideways_scrolling(&browser).await;
    browser
        .click("form.upload button[type=submit]:not([disabled])")
        .await;
    browser.wait_for(".hands.two .hand + .hand .lines").await;
    // The two hands compared, line by line.
    browser
        .wait_for_text("#comparison-title", "Your two hands compared")
        .await;
    let compared = browser
        .eval("return document.querySelectorAll('.comparison li').length")
        .await;
    assert!(compared.as_u64().unwrap() >= 3, "{compared}");
    let hands = browser
        .eval("return document.querySelectorAll('section.hand').length")
        .await;
    assert_eq!(hands, 2);
    assert_no_sideways_scrolling(&browser).await;
    browser.screenshot("reading-phone").await;
    browser.close().await;
    site.stop().await;
}

/// Not a test: the first load's size and time, for docs/benchmarks.md
/// (`scripts/bench-web.sh`). Ten cold loads of `/` (a new browser profile each): bytes
/// transferred over the wire (compressed, headers included) and the time from navigation
/// to the first view drawn with its handlers attached (`hast:interactive`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a benchmark: scripts/bench-web.sh"]
async fn first_load_benchmark() {
    let site = Site::start(&[]).await;
    let mut bytes = Vec::new();
    let mut interactive = Vec::new();
    for _ in 0..10 {
        let browser = Browser::start(1280, 900).await;
        browser.open(&site.url("/")).await;
        browser.wait_for("form.upload").await;
        let figures = browser
            .eval(
                "const nav = performance.getEntriesByType('navigation')[0];
                 const all = [nav, ...performance.getEntriesByType('resource')];
                 const mark = performance.getEntriesByName('hast:interactive')[0];
                 return { bytes: all.reduce((n, e) => n + e.transferSize, 0),
                          files: all.map(e => [e.name, e.transferSize, e.encodedBodySize]),
                          interactive: mark ? mark.startTime : null };",
            )
            .await;
        bytes.push(figures["bytes"].as_f64().unwrap());
        interactive.push(figures["interactive"].as_f64().unwrap());
        println!("{figures}");
        browser.close().await;
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    println!(
        "first load: median {} bytes transferred, median {:.0} ms to interactive (max {:.0} ms)",
        median(&mut bytes),
        median(&mut interactive),
        interactive.iter().copied().fold(0.0, f64::max)
    );
    site.stop().await;
}

/// The page's headers, over plain HTTP: a strict policy on the page and its assets, the
/// assets cached for a year and compressed when the client accepts it, the page itself
/// revalidated, unknown assets a JSON 404.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_is_served_with_a_strict_policy_and_cached_assets() {
    let nats = NatsServer::start();
    let db = TestDatabase::sqlite();
    let settings = test_settings(&db.url, &nats.url(), &[("MAX_UPLOAD_BYTES", "123456")]);
    let app = spawn_app(settings).await;
    let client = reqwest::Client::new();

    for path in [
        "/",
        "/readings",
        "/readings/0193",
        "/login",
        "/signup",
        "/account",
    ] {
        let response = client.get(app.url(path)).send().await.unwrap();
        assert_eq!(response.status().as_u16(), 200, "{path}");
        let headers = response.headers().clone();
        let csp = headers["content-security-policy"].to_str().unwrap();
        assert!(
            csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
            "{csp}"
        );
        assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
        assert_eq!(headers["referrer-policy"], "same-origin");
        assert_eq!(headers["x-content-type-options"], "nosniff");
        assert_eq!(headers["cache-control"], "no-cache");
        assert!(headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html"));
        let html = response.text().await.unwrap();
        assert!(
            html.contains(r#"content="123456""#),
            "the upload limit is in the page"
        );
        assert!(!html.contains("<script>"), "no inline script");
    }
    let html = client
        .get(app.url("/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let script = html
        .split('"')
        .find(|part| part.starts_with("/assets/app-") && part.ends_with(".js"))
        .expect("the page names its script")
        .to_owned();
    let plain = client.get(app.url(&script)).send().await.unwrap();
    assert_eq!(plain.status().as_u16(), 200);
    assert_eq!(
        plain.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );
    assert!(plain.headers().get("content-encoding").is_none());
    let plain_len = plain.bytes().await.unwrap().len();
    let gzip = client
        .get(app.url(&script))
        .header("accept-encoding", "gzip, br")
        .send()
        .await
        .unwrap();
    assert_eq!(gzip.headers()["content-encoding"], "gzip");
    assert!(gzip.bytes().await.unwrap().len() < plain_len / 2);
    let missing = client
        .get(app.url("/assets/app-NOPE.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status().as_u16(), 404);
    let body: serde_json::Value = missing.json().await.unwrap();
    assert_eq!(body["error"]["code"], "not_found");
    let api = client.get(app.url("/api/v1/nope")).send().await.unwrap();
    assert_eq!(
        api.status().as_u16(),
        404,
        "the page does not swallow API paths"
    );
    app.stop().await;
}

/// The progress view waits for a job still queued, rides through a dropped connection
/// (the browser's event stream reconnects and gets the current status first), and shows
/// the reading once a worker has read the palm.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn progress_survives_a_dropped_connection() {
    let mut site = Site::without_worker(&[]).await;
    let proxy = hast_tests::PausableProxy::start(site.app.addr.port()).await;
    let browser = Browser::start(1280, 900).await;
    let photo = site.photo("palm.jpg", &SynthSpec::palm(17));
    let base = format!("http://127.0.0.1:{}", proxy.port);

    browser.open(&format!("{base}/")).await;
    send_photo(&browser, &photo).await;
    browser
        .wait_for_text("main [role=status]", "Waiting for a reader")
        .await;
    let before = proxy.accepted();
    proxy.cut();
    // The page opens its event stream again (a new connection through the proxy).
    hast_tests::eventually(
        "the event stream to reconnect",
        std::time::Duration::from_millis(50),
        || async { (proxy.accepted() > before).then_some(()) },
    )
    .await;
    site.start_worker().await;
    browser.wait_for("#invite-title").await;
    browser.wait_for_text("main h1", "Your palm reading").await;
    browser.close().await;
    site.stop().await;
}

/// The history shows twelve readings a page, newest first, with links to the others.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_history_is_paged() {
    let site = Site::start(&[]).await;
    let statuses = hast_tests::jobs::status_store(&site.settings.nats_url).await;
    let mut analyses = Vec::new();
    for seed in 0..13 {
        analyses.push(site.app.upload_palm(100 + seed).await);
    }
    let user = &site.app.user;
    for (_, job) in &analyses {
        hast_tests::jobs::wait_for(&statuses, job, hast_common::jobs::JobState::Completed).await;
    }
    for job in hast_tests::jobs::jobs_of_kind(&statuses, &user.id, "thumbnail").await {
        hast_tests::jobs::wait_for(&statuses, &job, hast_common::jobs::JobState::Completed).await;
    }
    let browser = Browser::start(1280, 900).await;
    browser.open(&site.url("/login")).await;
    browser.type_into("#login-email", &user.email).await;
    browser.type_into("#login-password", &user.password).await;
    browser.click("form.auth button[type=submit]").await;
    browser.wait_for(".history .card").await;
    let cards = "return [...document.querySelectorAll('.history .card a')].map(a => a.getAttribute('href'))";
    let first = browser.eval(cards).await;
    assert_eq!(first.as_array().unwrap().len(), 12);
    let newest = format!("/readings/{}", analyses[12].0);
    assert_eq!(first[0], newest.as_str(), "newest first");
    browser.click(".pager a").await;
    browser.wait_for_text(".pager", "Newer").await;
    let second = browser.eval(cards).await;
    assert_eq!(
        second,
        serde_json::json!([format!("/readings/{}", analyses[0].0)]),
        "the oldest on the second page"
    );
    let errors = browser.console_errors().await;
    assert!(errors.is_empty(), "console errors: {errors:#?}");
    browser.close().await;
    site.stop().await;
}
