//! Accounts, sessions, CSRF, ownership, guests, abuse limits and account deletion
//! (issue #4), against a real nats-server and both databases.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use futures::StreamExt;
use hast_common::db::Backend;
use hast_tests::{
    bearer_client, eventually, plain_client, spawn_app, spawn_worker, test_settings, NatsServer,
    TestApp, TestDatabase,
};
use reqwest::header::{COOKIE, ORIGIN, SET_COOKIE};
use serde_json::{json, Value};

/// A small PNG "photo" (the upload path checks type and decodes it).
fn png_photo() -> Vec<u8> {
    let img = image::RgbImage::from_fn(96, 128, |x, y| {
        image::Rgb([
            200u8.saturating_sub((x / 4) as u8),
            150,
            (100 + y / 4) as u8,
        ])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

fn photo_form(field: &str) -> reqwest::multipart::Form {
    reqwest::multipart::Form::new().part(
        field.to_owned(),
        reqwest::multipart::Part::bytes(png_photo())
            .file_name("palm.png")
            .mime_str("image/png")
            .unwrap(),
    )
}

async fn json_of(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let body = response.json().await.unwrap_or(Value::Null);
    (status, body)
}

/// The session cookie's `name=<token>` pair of a response's `Set-Cookie`, and the whole
/// header.
fn session_cookie(response: &reqwest::Response) -> (String, String) {
    let header = response
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|v| v.starts_with("hast_session=") || v.starts_with("__Host-hast_session="))
        .expect("a session cookie");
    let pair = header.split(';').next().unwrap().to_owned();
    (pair, header)
}

/// Sends `head` (request line and headers, no body) and returns what the server answers.
async fn raw_request_head(app: &TestApp, head: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut answer = vec![0u8; 4096];
    let n = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut answer))
        .await
        .expect("an answer without sending the body")
        .unwrap();
    String::from_utf8_lossy(&answer[..n]).into_owned()
}

async fn register(app: &TestApp, email: &str, password: &str) -> reqwest::Response {
    app.anonymous
        .post(app.url("/api/v1/auth/register"))
        .json(&json!({"email": email, "password": password, "display_name": "Asha"}))
        .send()
        .await
        .unwrap()
}

async fn login(app: &TestApp, email: &str, password: &str) -> reqwest::Response {
    app.anonymous
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({"email": email, "password": password}))
        .send()
        .await
        .unwrap()
}

async fn me_with_token(app: &TestApp, token: &str) -> u16 {
    bearer_client(token)
        .get(app.url("/api/v1/auth/me"))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

async fn setup(
    backend: Backend,
    overrides: &[(&str, &str)],
) -> (NatsServer, TestDatabase, TestApp) {
    let nats = NatsServer::start();
    let db = TestDatabase::new(backend).await;
    let app = spawn_app(test_settings(&db.url, &nats.url(), overrides)).await;
    (nats, db, app)
}

async fn register_login_logout_and_me(backend: Backend) {
    let (_nats, _db, app) = setup(backend, &[]).await;
    let email = format!("Asha.{}@Example.com", uuid::Uuid::now_v7().simple());

    let response = register(&app, &email, "correct horse battery").await;
    assert_eq!(response.status().as_u16(), 201);
    let (_, set_cookie) = session_cookie(&response);
    let (_, body) = json_of(response).await;
    assert_eq!(body["user"]["email"], email.to_lowercase());
    assert_eq!(body["user"]["display_name"], "Asha");
    assert_eq!(body["user"]["is_guest"], false);
    assert!(body["user"].get("password_hash").is_none());
    let first = body["token"].as_str().unwrap().to_owned();
    assert!(
        set_cookie.contains(&first),
        "the cookie carries the same token"
    );
    assert_eq!(me_with_token(&app, &first).await, 200);

    // Duplicate email, compared case-insensitively.
    let (status, body) =
        json_of(register(&app, &email.to_uppercase(), "another password").await).await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["error"]["code"], "email_taken");

    // Login issues a new token; both sessions work until logged out.
    let response = login(&app, &email.to_uppercase(), "correct horse battery").await;
    let (status, body) = json_of(response).await;
    assert_eq!(status, 200, "{body}");
    let second = body["token"].as_str().unwrap().to_owned();
    assert_ne!(first, second);
    let (status, me) = json_of(
        bearer_client(&second)
            .get(app.url("/api/v1/auth/me"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(me["user"]["email"], email.to_lowercase());

    // Logout ends that session only, and clears the cookie.
    let response = bearer_client(&second)
        .post(app.url("/api/v1/auth/logout"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 204);
    assert!(session_cookie(&response).1.contains("Max-Age=0"));
    assert_eq!(me_with_token(&app, &second).await, 401);
    assert_eq!(me_with_token(&app, &first).await, 200);

    // Anonymous, garbage and forged tokens are 401 with the envelope.
    let (status, body) = json_of(
        app.anonymous
            .get(app.url("/api/v1/auth/me"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 401);
    assert_eq!(body["error"]["code"], "unauthenticated");
    assert_eq!(me_with_token(&app, "garbage").await, 401);
    let forged = format!("{}.{}", app.user.id, "A".repeat(43));
    assert_eq!(me_with_token(&app, &forged).await, 401);

    // Validation: bad email, short and overlong passwords, unknown fields, bad JSON.
    for (body, code) in [
        (
            json!({"email": "not-an-email", "password": "long enough pw"}),
            "invalid_email",
        ),
        (
            json!({"email": "a@b.example", "password": "short"}),
            "weak_password",
        ),
        (
            json!({"email": "a@b.example", "password": "x".repeat(129)}),
            "password_too_long",
        ),
    ] {
        let (status, answer) = json_of(
            app.anonymous
                .post(app.url("/api/v1/auth/register"))
                .json(&body)
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(status, 422, "{answer}");
        assert_eq!(answer["error"]["code"], code);
    }
    let (status, _) = json_of(
        app.anonymous
            .post(app.url("/api/v1/auth/register"))
            .header("content-type", "application/json")
            .body("{not json")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 400);
}

async fn wrong_password_and_unknown_email_answer_the_same(backend: Backend) {
    let (_nats, _db, app) = setup(backend, &[]).await;
    let (s1, wrong) = json_of(login(&app, &app.user.email, "not the password").await).await;
    let (s2, unknown) = json_of(login(&app, "nobody@example.com", "not the password").await).await;
    assert_eq!((s1, s2), (401, 401));
    assert_eq!(wrong, unknown);
    assert_eq!(wrong["error"]["code"], "invalid_credentials");
}

async fn cookies_are_httponly_lax_and_secure_outside_development(backend: Backend) {
    let (nats, db, app) = setup(backend, &[]).await;
    let response = login(&app, &app.user.email, &app.user.password).await;
    let (_, header) = session_cookie(&response);
    assert!(
        header.contains("HttpOnly") && header.contains("SameSite=Lax") && header.contains("Path=/")
    );
    assert!(
        !header.contains("Secure"),
        "development cookies are not Secure: {header}"
    );
    app.stop().await;

    let production = [
        ("APP_ENV", "production"),
        (
            "SESSION_SECRET",
            "0123456789abcdef0123456789abcdef-production",
        ),
    ];
    let app = spawn_app(test_settings(&db.url, &nats.url(), &production)).await;
    let response = login(&app, &app.user.email, &app.user.password).await;
    let (pair, header) = session_cookie(&response);
    assert!(header.contains("HttpOnly") && header.contains("SameSite=Lax"));
    assert!(
        header.contains("; Secure"),
        "production cookies are Secure: {header}"
    );
    // `__Host-`: only an https page of this very host can set it (no subdomain, no
    // plain-http page), and the server reads no other name.
    assert!(pair.starts_with("__Host-hast_session="), "{header}");
    assert!(header.contains("Path=/") && !header.contains("Domain"));
    let me = |cookie: String| {
        plain_client()
            .get(app.url("/api/v1/auth/me"))
            .header(COOKIE, cookie)
            .send()
    };
    assert_eq!(me(pair.clone()).await.unwrap().status().as_u16(), 200);
    let planted = pair.replacen("__Host-hast_session=", "hast_session=", 1);
    assert_eq!(me(planted).await.unwrap().status().as_u16(), 401);
}

async fn sessions_survive_a_restart_and_expire_after_their_ttl(backend: Backend) {
    let nats = NatsServer::start();
    let db = TestDatabase::new(backend).await;
    let settings = test_settings(&db.url, &nats.url(), &[("SESSION_TTL", "3s")]);
    let app = spawn_app(settings.clone()).await;
    let token = app.user.token.clone();
    let user_id = app.user.id.clone();
    app.stop().await;

    let app = spawn_app(settings).await;
    assert_eq!(
        me_with_token(&app, &token).await,
        200,
        "the session outlived the API process"
    );

    // Leave the session idle and watch the bucket until NATS expires it.
    let client = async_nats::connect(nats.url()).await.unwrap();
    let sessions = async_nats::jetstream::new(client)
        .get_key_value("sessions")
        .await
        .unwrap();
    let prefix = format!("{user_id}.");
    let keys: Vec<String> = sessions
        .keys()
        .await
        .unwrap()
        .filter_map(|k| async { k.ok() })
        .collect()
        .await;
    assert!(
        keys.iter().any(|k| k.starts_with(&prefix)),
        "the session is in the bucket"
    );
    assert!(
        !keys.iter().any(|k| k.contains(&token)),
        "the bucket key is not the token"
    );
    eventually(
        "the idle session to expire",
        Duration::from_millis(250),
        || {
            let sessions = sessions.clone();
            let prefix = prefix.clone();
            async move {
                let keys: Vec<String> = sessions
                    .keys()
                    .await
                    .ok()?
                    .filter_map(|k| async { k.ok() })
                    .collect()
                    .await;
                (!keys.iter().any(|k| k.starts_with(&prefix))).then_some(())
            }
        },
    )
    .await;
    assert_eq!(me_with_token(&app, &token).await, 401);
}

async fn csrf_is_refused_from_foreign_origins_only(backend: Backend) {
    let (_nats, _db, app) = setup(
        backend,
        &[("CORS_ALLOWED_ORIGINS", "http://allowed.example")],
    )
    .await;
    let response = login(&app, &app.user.email, &app.user.password).await;
    let (cookie, _) = session_cookie(&response);
    let submit = |origin: Option<&str>, bearer: bool| {
        let mut request = if bearer {
            bearer_client(&app.user.token)
        } else {
            plain_client()
        }
        .post(app.url("/api/v1/jobs"))
        .json(&json!({"kind": "echo", "payload": {}}));
        if !bearer {
            request = request.header(COOKIE, cookie.clone());
        }
        if let Some(origin) = origin {
            request = request.header(ORIGIN, origin);
        }
        request.send()
    };
    let (status, body) = json_of(submit(Some("https://evil.example"), false).await.unwrap()).await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["error"]["code"], "csrf_rejected");
    let (status, _) = json_of(submit(None, false).await.unwrap()).await;
    assert_eq!(status, 403, "no Origin and no Referer");
    let (status, body) =
        json_of(submit(Some("http://allowed.example"), false).await.unwrap()).await;
    assert_eq!(status, 202, "{body}");
    let own = app.base();
    let (status, _) = json_of(submit(Some(&own), false).await.unwrap()).await;
    assert_eq!(status, 202, "the server's own origin");
    let (status, _) = json_of(submit(Some("https://evil.example"), true).await.unwrap()).await;
    assert_eq!(status, 202, "bearer requests are exempt");
    // Safe methods are not checked.
    let status = plain_client()
        .get(app.url("/api/v1/auth/me"))
        .header(COOKIE, cookie.clone())
        .header(ORIGIN, "https://evil.example")
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status.as_u16(), 200);
}

async fn other_users_get_404_and_anonymous_callers_401(backend: Backend) {
    let (_nats, _db, app) = setup(backend, &[]).await;
    let a = &app.client;
    let b = bearer_client(&app.new_user().await.token);

    let (status, upload) = json_of(
        a.post(app.url("/api/v1/analyses"))
            .multipart(photo_form("image"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 202, "{upload}");
    let analysis = upload["analysis"]["id"].as_str().unwrap();
    let job = upload["job"]["id"].as_str().unwrap();
    assert_eq!(upload["job"]["kind"], "analysis");

    let (status, echo) = json_of(
        a.post(app.url("/api/v1/jobs"))
            .json(&json!({"kind": "echo", "payload": {}}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 202);
    let echo_job = echo["id"].as_str().unwrap();

    let reads = [
        format!("/api/v1/analyses/{analysis}"),
        format!("/api/v1/analyses/{analysis}/image"),
        format!("/api/v1/analyses/{analysis}/overlay"),
        format!("/api/v1/jobs/{job}"),
        format!("/api/v1/jobs/{job}/events"),
        format!("/api/v1/jobs/{echo_job}"),
        format!("/api/v1/jobs/{echo_job}/events"),
    ];
    for path in &reads {
        let (status, body) = json_of(b.get(app.url(path)).send().await.unwrap()).await;
        assert_eq!(status, 404, "user B reading {path}: {body}");
        assert_eq!(body["error"]["code"], "not_found");
        let (status, body) = json_of(app.anonymous.get(app.url(path)).send().await.unwrap()).await;
        assert_eq!(status, 401, "anonymous reading {path}: {body}");
    }
    for path in [
        format!("/api/v1/analyses/{analysis}"),
        format!("/api/v1/jobs/{echo_job}"),
    ] {
        let (status, _) = json_of(b.delete(app.url(&path)).send().await.unwrap()).await;
        assert_eq!(status, 404, "user B deleting {path}");
        let (status, _) = json_of(app.anonymous.delete(app.url(&path)).send().await.unwrap()).await;
        assert_eq!(status, 401, "anonymous deleting {path}");
    }
    for path in ["/api/v1/analyses", "/api/v1/auth/me"] {
        let (status, _) = json_of(app.anonymous.get(app.url(path)).send().await.unwrap()).await;
        assert_eq!(status, 401, "anonymous {path}");
    }
    let (status, _) = json_of(
        app.anonymous
            .post(app.url("/api/v1/jobs"))
            .json(&json!({"kind": "echo", "payload": {}}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 401, "anonymous job submission");
    // B's list does not show A's analysis; A's does.
    let (_, list) = json_of(b.get(app.url("/api/v1/analyses")).send().await.unwrap()).await;
    assert_eq!(list["analyses"].as_array().unwrap().len(), 0);
    let (_, list) = json_of(a.get(app.url("/api/v1/analyses")).send().await.unwrap()).await;
    assert_eq!(list["analyses"][0]["id"], analysis);
    // The owner can read everything that exists (the overlay does not yet).
    for (path, expected) in [
        (format!("/api/v1/analyses/{analysis}"), 200),
        (format!("/api/v1/analyses/{analysis}/image"), 200),
        (format!("/api/v1/jobs/{job}"), 200),
        (format!("/api/v1/analyses/{analysis}/overlay"), 404),
    ] {
        let status = a
            .get(app.url(&path))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16();
        assert_eq!(status, expected, "owner reading {path}");
    }
    let image = a
        .get(app.url(&format!("/api/v1/analyses/{analysis}/image")))
        .send()
        .await
        .unwrap();
    assert_eq!(image.headers()["content-type"], "image/jpeg");
    let bytes = image.bytes().await.unwrap();
    assert_eq!(
        &bytes[..2],
        &[0xFF, 0xD8],
        "the stored photo is a re-encoded JPEG"
    );

    // The owner deletes it: the photo, the row and the job's status are gone.
    let status = a
        .delete(app.url(&format!("/api/v1/analyses/{analysis}")))
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status.as_u16(), 204);
    for path in [
        format!("/api/v1/analyses/{analysis}"),
        format!("/api/v1/analyses/{analysis}/image"),
        format!("/api/v1/jobs/{job}"),
    ] {
        let status = a
            .get(app.url(&path))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16();
        assert_eq!(status, 404, "after deletion: {path}");
    }
}

async fn uploads_are_checked_and_limited_per_user_and_per_address(backend: Backend) {
    let (_nats, _db, app) = setup(
        backend,
        &[("UPLOADS_PER_HOUR", "2"), ("MAX_UPLOAD_BYTES", "200000")],
    )
    .await;
    let post = |client: &reqwest::Client, form: reqwest::multipart::Form| {
        client
            .post(app.url("/api/v1/analyses"))
            .multipart(form)
            .send()
    };
    let bytes_form = |field: &str, bytes: Vec<u8>| {
        reqwest::multipart::Form::new().part(
            field.to_owned(),
            reqwest::multipart::Part::bytes(bytes).file_name("palm.jpg"),
        )
    };
    // Bad input is refused with the envelope and leaves nothing behind (and, being
    // checked after the quota, the first one uses up a slot: the quota counts attempts).
    let (status, body) = json_of(
        post(
            &app.client,
            bytes_form("image", b"GIF89a not a palm".to_vec()),
        )
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (415, Some("unsupported_media_type")),
        "{body}"
    );
    let mut truncated = png_photo();
    truncated.truncate(truncated.len() / 2);
    let (status, body) = json_of(
        post(&app.client, bytes_form("image", truncated))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (422, Some("corrupt_image")),
        "{body}"
    );
    let (_, list) = json_of(
        app.client
            .get(app.url("/api/v1/analyses"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        list["analyses"].as_array().unwrap().len(),
        0,
        "no half-made analyses"
    );
    // Over the hourly quota.
    let (status, body) = json_of(post(&app.client, photo_form("image")).await.unwrap()).await;
    assert_eq!(status, 429, "{body}");
    assert_eq!(body["error"]["code"], "rate_limited");
    // Another user has their own quota; oversized and non-multipart bodies are refused.
    let other = bearer_client(&app.new_user().await.token);
    // An oversized upload is refused from its declared length, before the body is read
    // (a raw request, so the test does not race the server closing the connection).
    let oversized = raw_request_head(
        &app,
        &format!(
            "POST /api/v1/analyses HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {}\r\n\
             Content-Type: multipart/form-data; boundary=x\r\nContent-Length: 300000\r\n\r\n",
            app.addr, app.user.token
        ),
    )
    .await;
    assert!(oversized.starts_with("HTTP/1.1 413"), "{oversized}");
    assert!(oversized.contains("payload_too_large"), "{oversized}");
    let (status, _) = json_of(
        other
            .post(app.url("/api/v1/analyses"))
            .json(&json!({"image": "x"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 415);
    let (status, body) = json_of(post(&other, photo_form("palm")).await.unwrap()).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("unexpected_field"))
    );
    // Anonymous uploads (each would be a new guest) are counted per client address.
    for expected in [202, 202, 429] {
        let (status, body) =
            json_of(post(&app.anonymous, photo_form("image")).await.unwrap()).await;
        assert_eq!(status, expected, "{body}");
    }
}

/// An upload without a session (202): the guest's cookie pair, its `Set-Cookie`, and the
/// answer.
async fn guest_upload(app: &TestApp) -> (String, String, Value) {
    let response = app
        .anonymous
        .post(app.url("/api/v1/analyses"))
        .multipart(photo_form("image"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 202);
    let (cookie, header) = session_cookie(&response);
    let (_, upload) = json_of(response).await;
    (cookie, header, upload)
}

async fn a_guest_uploads_then_claims_the_analysis_on_register(backend: Backend) {
    let (_nats, _db, app) = setup(backend, &[("GUEST_MAX_ANALYSES", "2")]).await;
    let (guest_cookie, header, upload) = guest_upload(&app).await;
    assert!(header.contains("HttpOnly") && header.contains("SameSite=Lax"));
    let analysis = upload["analysis"]["id"].as_str().unwrap().to_owned();

    let guest = |method: reqwest::Method, path: &str| {
        plain_client()
            .request(method, app.url(path))
            .header(COOKIE, guest_cookie.clone())
            .header(ORIGIN, app.base())
    };
    let (status, me) = json_of(
        guest(reqwest::Method::GET, "/api/v1/auth/me")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(me["user"]["is_guest"], true);
    let (status, _) = json_of(
        guest(
            reqwest::Method::GET,
            &format!("/api/v1/analyses/{analysis}"),
        )
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "the guest sees their analysis");
    // A second upload on the same guest session is allowed, a third is not.
    let (status, _) = json_of(
        guest(reqwest::Method::POST, "/api/v1/analyses")
            .multipart(photo_form("left"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 202);
    let (status, body) = json_of(
        guest(reqwest::Method::POST, "/api/v1/analyses")
            .multipart(photo_form("image"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["error"]["code"], "guest_limit_reached");

    // Registering with the guest cookie moves both analyses to the account.
    let email = format!("guest-{}@example.com", uuid::Uuid::now_v7().simple());
    let response = guest(reqwest::Method::POST, "/api/v1/auth/register")
        .json(&json!({"email": email, "password": "claim my palms please"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 201);
    let (account_cookie, _) = session_cookie(&response);
    assert_ne!(account_cookie, guest_cookie, "a new token, not the guest's");
    let (_, body) = json_of(response).await;
    let account = bearer_client(body["token"].as_str().unwrap());
    let (_, list) = json_of(
        account
            .get(app.url("/api/v1/analyses"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let ids: Vec<&str> = list["analyses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 2);
    assert!(ids.contains(&analysis.as_str()));
    let job = upload["job"]["id"].as_str().unwrap();
    let status = account
        .get(app.url(&format!("/api/v1/jobs/{job}")))
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status.as_u16(), 200, "the guest's job moved too");
    // The guest session is over.
    let (status, _) = json_of(
        guest(reqwest::Method::GET, "/api/v1/auth/me")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 401);
}

async fn the_login_limit_is_shared_by_two_api_processes(backend: Backend) {
    let nats = NatsServer::start();
    let db = TestDatabase::new(backend).await;
    let settings = test_settings(
        &db.url,
        &nats.url(),
        &[
            ("LOGIN_MAX_FAILURES", "5"),
            ("LOGIN_BACKOFF_BASE", "60s"),
            ("LOGIN_ADDRESS_FAILURES_PER_HOUR", "5"),
        ],
    );
    let first = spawn_app(settings.clone()).await;
    let second = spawn_app(settings).await;
    for i in 0..5 {
        let app = if i % 2 == 0 { &first } else { &second };
        let (status, _) = json_of(login(app, &first.user.email, "wrong password!").await).await;
        assert_eq!(status, 401, "failure {i}");
    }
    // The sixth attempt is refused on either process, even with the right password.
    for app in [&second, &first] {
        let response = login(app, &first.user.email, &first.user.password).await;
        assert_eq!(response.status().as_u16(), 429);
        let retry_after: u64 = response.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((1..=60).contains(&retry_after), "Retry-After {retry_after}");
        let (_, body) = json_of(response).await;
        assert_eq!(body["error"]["code"], "rate_limited");
    }
    // The per-address ceiling also holds for another account from the same address.
    let (status, _) =
        json_of(login(&second, &second.user.email, &second.user.password).await).await;
    assert_eq!(status, 429, "the address is over its limit too");
}

/// Settings under which `X-Forwarded-For` names the client (the test's proxy is
/// 127.0.0.1), so one test can speak from several addresses.
const BEHIND_A_PROXY: &[(&str, &str)] = &[
    ("TRUST_FORWARDED_FOR", "true"),
    ("TRUSTED_PROXIES", "127.0.0.1/32"),
];

/// A login from `address` (through the test's "proxy"): status, `Retry-After`, body.
async fn login_from(
    app: &TestApp,
    address: &str,
    email: &str,
    password: &str,
) -> (u16, Option<u64>, Value) {
    let response = plain_client()
        .post(app.url("/api/v1/auth/login"))
        .header("x-forwarded-for", address)
        .json(&json!({"email": email, "password": password}))
        .send()
        .await
        .unwrap();
    let retry_after = response
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().parse().unwrap());
    let (status, body) = json_of(response).await;
    (status, retry_after, body)
}

async fn an_attacker_s_failures_do_not_lock_the_owner_out(backend: Backend) {
    let overrides = [
        BEHIND_A_PROXY,
        &[
            ("LOGIN_MAX_FAILURES", "3"),
            ("LOGIN_BACKOFF_BASE", "1h"),
            ("LOGIN_BACKOFF_CAP", "1h"),
        ],
    ]
    .concat();
    let (_nats, _db, app) = setup(backend, &overrides).await;
    let user = &app.user;
    for i in 0..3 {
        let (status, _, body) = login_from(&app, "203.0.113.9", &user.email, "a guess!").await;
        assert_eq!(status, 401, "failure {i}: {body}");
    }
    // The attacker's address now waits, however often it asks, right password or not.
    for password in ["another guess", &user.password] {
        let (status, retry_after, body) =
            login_from(&app, "203.0.113.9", &user.email, password).await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (429, Some("rate_limited"))
        );
        assert!(retry_after.is_some_and(|s| s > 3500), "{retry_after:?}");
    }
    // The owner, from another address, signs in.
    let (status, _, body) = login_from(&app, "198.51.100.4", &user.email, &user.password).await;
    assert_eq!(status, 200, "{body}");
}

async fn at_most_the_hourly_ceiling_of_failures_reaches_one_account(backend: Backend) {
    let overrides = [
        BEHIND_A_PROXY,
        &[
            ("LOGIN_MAX_FAILURES", "2"),
            ("LOGIN_BACKOFF_BASE", "1h"),
            ("LOGIN_BACKOFF_CAP", "1h"),
            ("LOGIN_ACCOUNT_FAILURES_PER_HOUR", "6"),
        ],
    ]
    .concat();
    let (_nats, _db, app) = setup(backend, &overrides).await;
    let user = &app.user;
    // Six failures from three addresses, two each: all tried.
    for address in ["203.0.113.1", "203.0.113.2", "203.0.113.3"] {
        for _ in 0..2 {
            let (status, _, body) = login_from(&app, address, &user.email, "a guess!").await;
            assert_eq!(status, 401, "{address}: {body}");
        }
    }
    // The seventh is refused from anywhere, for the rest of the hour: no one gets more
    // guesses, and the password is not checked.
    for (address, password) in [
        ("203.0.113.4", "a guess!"),
        ("198.51.100.4", &user.password),
    ] {
        let (status, retry_after, body) = login_from(&app, address, &user.email, password).await;
        assert_eq!(status, 429, "{address}: {body}");
        assert!(
            retry_after.is_some_and(|s| (3000..=3600).contains(&s)),
            "{retry_after:?}"
        );
    }
    // Another account is not affected.
    let other = app.new_user().await;
    let (status, _, _) = login_from(&app, "203.0.113.4", &other.email, &other.password).await;
    assert_eq!(status, 200);
}

async fn the_login_backoff_grows_and_waiting_attempts_do_not_extend_it(backend: Backend) {
    let (_nats, _db, app) = setup(
        backend,
        &[
            ("LOGIN_MAX_FAILURES", "1"),
            ("LOGIN_BACKOFF_BASE", "2s"),
            ("LOGIN_BACKOFF_CAP", "1h"),
        ],
    )
    .await;
    let (email, password) = (app.user.email.clone(), app.user.password.clone());
    let attempt = |password: String| {
        let (app, email) = (&app, email.clone());
        async move { login_from(app, "127.0.0.1", &email, &password).await }
    };
    let guess = || attempt("a guess!".to_owned());
    assert_eq!(guess().await.0, 401, "the free failure");
    let (status, first_wait, _) = guess().await;
    assert_eq!(status, 429);
    let first_wait = first_wait.unwrap();
    assert!((1..=2).contains(&first_wait), "{first_wait}");
    // Asking again and again while refused does not push the end of the wait back.
    eventually(
        "the first wait to end",
        Duration::from_millis(100),
        || async { (guess().await.0 == 401).then_some(()) },
    )
    .await;
    // That failure doubled the wait.
    let (status, second_wait, _) = guess().await;
    assert_eq!(status, 429);
    let second_wait = second_wait.unwrap();
    assert!((3..=4).contains(&second_wait), "{second_wait}");
    eventually(
        "the owner to sign in",
        Duration::from_millis(100),
        || async { (attempt(password.clone()).await.0 == 200).then_some(()) },
    )
    .await;
    // A success starts the backoff over: one free failure again.
    assert_eq!(guess().await.0, 401);
}

/// Registers `email` from `address` (through the test's "proxy").
async fn register_from(app: &TestApp, address: &str, email: &str, password: &str) -> (u16, Value) {
    json_of(
        plain_client()
            .post(app.url("/api/v1/auth/register"))
            .header("x-forwarded-for", address)
            .json(&json!({"email": email, "password": password}))
            .send()
            .await
            .unwrap(),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn common_passwords_are_refused_at_registration() {
    let (_nats, _db, app) = setup(Backend::Sqlite, &[]).await;
    let email = format!("common-{}@example.com", uuid::Uuid::now_v7().simple());
    for weak in ["password123", "qwertyuiop", "iloveyou2", &email] {
        let (status, body) = json_of(register(&app, &email, weak).await).await;
        assert_eq!(status, 422, "{weak}: {body}");
        assert_eq!(body["error"]["code"], "common_password");
        assert!(
            !body.to_string().contains(weak),
            "the password is not echoed"
        );
    }
    let (status, _) = json_of(register(&app, &email, "unusual palms read slowly").await).await;
    assert_eq!(status, 201);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registration_is_limited_per_address() {
    let overrides = [BEHIND_A_PROXY, &[("REGISTRATIONS_PER_HOUR", "3")]].concat();
    let (_nats, _db, app) = setup(Backend::Sqlite, &overrides).await;
    let fresh = || format!("reg-{}@example.com", uuid::Uuid::now_v7().simple());
    let password = "a long test password";
    // Three attempts from one address, a taken email among them, then 429.
    assert_eq!(
        register_from(&app, "203.0.113.7", &fresh(), password)
            .await
            .0,
        201
    );
    let (status, body) = register_from(&app, "203.0.113.7", &app.user.email, password).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (409, Some("email_taken"))
    );
    assert_eq!(
        register_from(&app, "203.0.113.7", &fresh(), password)
            .await
            .0,
        201
    );
    let (status, body) = register_from(&app, "203.0.113.7", &fresh(), password).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (429, Some("rate_limited")),
        "{body}"
    );
    // Probing emails is refused too, whether taken or not.
    let (status, _) = register_from(&app, "203.0.113.7", &app.user.email, password).await;
    assert_eq!(status, 429);
    // Another address has its own allowance.
    assert_eq!(
        register_from(&app, "198.51.100.7", &fresh(), password)
            .await
            .0,
        201
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_ins_beyond_the_hashing_queue_get_503_with_retry_after() {
    let (_nats, _db, app) = setup(Backend::Sqlite, &[("PASSWORD_HASH_CONCURRENCY", "1")]).await;
    let attempts = (0..40).map(|i| {
        let app = &app;
        async move {
            let response = plain_client()
                .post(app.url("/api/v1/auth/login"))
                .json(&json!({"email": format!("nobody-{i}@example.com"), "password": "a guess!"}))
                .send()
                .await
                .unwrap();
            let retry_after = response.headers().get("retry-after").cloned();
            let (status, body) = json_of(response).await;
            (status, retry_after, body)
        }
    });
    let answers = futures::future::join_all(attempts).await;
    let mut busy = 0;
    for (status, retry_after, body) in &answers {
        match status {
            401 => assert_eq!(body["error"]["code"], "invalid_credentials"),
            503 => {
                busy += 1;
                assert_eq!(body["error"]["code"], "password_hashing_busy");
                assert_eq!(retry_after.as_ref().unwrap(), "1");
            }
            other => panic!("unexpected {other}: {body}"),
        }
    }
    assert!(
        busy > 0,
        "one slot and a queue of four cannot take 40 at once"
    );
    assert!(busy < answers.len(), "the queue's requests are answered");
    // Refused attempts used no sign-in failure: a correct login works right away.
    let (status, _) = json_of(login(&app, &app.user.email, &app.user.password).await).await;
    assert_eq!(status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_client_address_is_the_right_most_untrusted_forwarded_entry() {
    let overrides = [
        ("TRUST_FORWARDED_FOR", "true"),
        ("TRUSTED_PROXIES", "127.0.0.1/32, 10.0.0.0/8"),
        ("LOGIN_ADDRESS_FAILURES_PER_HOUR", "2"),
    ];
    let (_nats, _db, app) = setup(Backend::Sqlite, &overrides).await;
    // Each attempt names another account, so only the per-address ceiling counts.
    let fail_from = |forwarded: &'static str| {
        let app = &app;
        async move {
            let email = format!("nobody-{}@example.com", uuid::Uuid::now_v7().simple());
            login_from(app, forwarded, &email, "a guess!").await.0
        }
    };
    // The client cannot pick its address by prepending entries: the proxies append.
    assert_eq!(fail_from("1.1.1.1, 203.0.113.5, 10.0.0.3").await, 401);
    assert_eq!(fail_from("2.2.2.2, 203.0.113.5").await, 401);
    assert_eq!(fail_from("not-an-address, 203.0.113.5, garbage").await, 429);
    // IPv6 clients count by /64.
    assert_eq!(fail_from("2001:db8:1:2::1").await, 401);
    assert_eq!(fail_from("[2001:db8:1:2:ffff::9]:443").await, 401);
    assert_eq!(fail_from("2001:db8:1:2:abcd::7").await, 429);
    assert_eq!(fail_from("2001:db8:1:3::1").await, 401, "another /64");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_with_other_uuid_forms_are_refused_with_401() {
    let (_nats, _db, app) = setup(Backend::Sqlite, &[]).await;
    let (id, secret) = app.user.token.split_once('.').unwrap();
    for token in [
        format!("{{{id}}}.{secret}"),
        format!("urn:uuid:{id}.{secret}"),
        format!("{}.{secret}", id.to_uppercase()),
        format!("{}.{secret}", id.replace('-', "")),
        format!("{id}.{secret}:x"),
        "..".to_owned(),
    ] {
        let (status, body) = json_of(
            bearer_client(&token)
                .get(app.url("/api/v1/auth/me"))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(status, 401, "{token}: {body}");
        assert_eq!(body["error"]["code"], "unauthenticated");
    }
    assert_eq!(me_with_token(&app, &app.user.token).await, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_routes_refuse_a_body_without_a_json_content_type() {
    let (_nats, _db, app) = setup(Backend::Sqlite, &[]).await;
    let body = json!({"email": app.user.email, "password": app.user.password}).to_string();
    for content_type in [
        None,
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
    ] {
        let mut request = plain_client()
            .post(app.url("/api/v1/auth/login"))
            .body(body.clone());
        if let Some(content_type) = content_type {
            request = request.header("content-type", content_type);
        }
        let (status, answer) = json_of(request.send().await.unwrap()).await;
        assert_eq!(status, 415, "{content_type:?}: {answer}");
        assert_eq!(answer["error"]["code"], "unsupported_media_type");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cross_site_upload_cannot_replace_a_session_with_a_guest_s() {
    let (_nats, _db, app) = setup(Backend::Sqlite, &[]).await;
    // A page elsewhere posts a form to the API: the browser sends no Lax cookie, but
    // would store the answer's cookie in place of its visitor's.
    for (name, value) in [
        ("origin", "https://evil.example"),
        ("sec-fetch-site", "cross-site"),
    ] {
        let response = plain_client()
            .post(app.url("/api/v1/analyses"))
            .header(name, value)
            .multipart(photo_form("image"))
            .send()
            .await
            .unwrap();
        assert!(response.headers().get(SET_COOKIE).is_none(), "no cookie");
        let (status, body) = json_of(response).await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (403, Some("csrf_rejected"))
        );
    }
    // The API's own page, and clients that name no origin, still start guests.
    let own = plain_client()
        .post(app.url("/api/v1/analyses"))
        .header(ORIGIN, app.base())
        .multipart(photo_form("image"))
        .send()
        .await
        .unwrap();
    assert_eq!(own.status().as_u16(), 202);
    guest_upload(&app).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_an_account_needs_its_current_password() {
    let (_nats, _db, app) = setup(Backend::Sqlite, &[]).await;
    let delete = |body: Option<Value>| {
        let request = app.client.delete(app.url("/api/v1/auth/me"));
        match body {
            Some(body) => request.json(&body),
            None => request,
        }
        .send()
    };
    let (status, body) = json_of(delete(None).await.unwrap()).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (422, Some("password_required"))
    );
    let (status, body) = json_of(
        delete(Some(json!({"password": "not my password"})))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (403, Some("wrong_password"))
    );
    assert_eq!(
        me_with_token(&app, &app.user.token).await,
        200,
        "nothing deleted"
    );
    let (status, _) = json_of(
        delete(Some(json!({"password": app.user.password})))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 204);
    assert_eq!(me_with_token(&app, &app.user.token).await, 401);
    // A guest has no password: no body needed.
    let (guest_cookie, _, _) = guest_upload(&app).await;
    let status = plain_client()
        .delete(app.url("/api/v1/auth/me"))
        .header(COOKIE, guest_cookie)
        .header(ORIGIN, app.base())
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status.as_u16(), 204);
}

async fn account_deletion_leaves_nothing_behind(backend: Backend) {
    let nats = NatsServer::start();
    let db = TestDatabase::new(backend).await;
    let settings = test_settings(&db.url, &nats.url(), &[]);
    let app = spawn_app(settings.clone()).await;
    let worker = spawn_worker(settings).await;
    let user = app.user.clone();
    // Something of every kind: an analysis with its photo, a completed job with a result
    // row, an idempotency record, a second session, a failed-login counter.
    let (status, upload) = json_of(
        app.client
            .post(app.url("/api/v1/analyses"))
            .multipart(photo_form("image"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 202);
    let analysis = upload["analysis"]["id"].as_str().unwrap().to_owned();
    let (status, echo) = json_of(
        app.client
            .post(app.url("/api/v1/jobs"))
            .header("idempotency-key", "delete-me")
            .json(&json!({"kind": "echo", "payload": {"x": 1}}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 202);
    let echo_job = echo["id"].as_str().unwrap().to_owned();
    let statuses = hast_tests::jobs::status_store(&nats.url()).await;
    hast_tests::jobs::wait_for(&statuses, &echo_job, hast_common::jobs::JobState::Completed).await;
    // The analysis is read and its thumbnail made before the deletion (jobs still
    // running at a deletion: `jobs_of_a_deleted_analysis_leave_no_objects_behind`).
    let thumbnail_jobs = hast_tests::jobs::jobs_of_kind(&statuses, &user.id, "thumbnail").await;
    for job in thumbnail_jobs
        .iter()
        .chain([&upload["job"]["id"].as_str().unwrap().to_owned()])
    {
        hast_tests::jobs::wait_for(&statuses, job, hast_common::jobs::JobState::Completed).await;
    }
    let conn = db.connect().await;
    eventually("the result row", Duration::from_millis(50), || async {
        conn.find_job_result(&echo_job).await.ok().flatten()
    })
    .await;
    let second_token = json_of(login(&app, &user.email, &user.password).await)
        .await
        .1["token"]
        .as_str()
        .unwrap()
        .to_owned();
    json_of(login(&app, &user.email, "a wrong password").await).await;
    assert!(conn.count_rows_owned_by(&user.id).await.unwrap() >= 3);

    let response = app
        .client
        .delete(app.url("/api/v1/auth/me"))
        .json(&json!({"password": user.password}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 204);

    assert_eq!(
        conn.count_rows_owned_by(&user.id).await.unwrap(),
        0,
        "no rows"
    );
    assert_eq!(me_with_token(&app, &user.token).await, 401);
    assert_eq!(me_with_token(&app, &second_token).await, 401);
    let js = async_nats::jetstream::new(async_nats::connect(nats.url()).await.unwrap());
    let images = js.get_object_store("images").await.unwrap();
    for name in ["photo.jpg", "overlay.png", "thumbnail.jpg"] {
        assert!(
            images
                .get(format!("analyses/{analysis}/{name}"))
                .await
                .is_err(),
            "object {name} is gone"
        );
    }
    for bucket in [
        "sessions",
        "job_status",
        "job_owners",
        "idempotency",
        "rate_limits",
    ] {
        let kv = js.get_key_value(bucket).await.unwrap();
        let mut stream = kv.stream.clone();
        let info = stream.info().await.unwrap();
        let leftovers: Vec<String> = if info.state.messages == 0 {
            Vec::new()
        } else {
            kv.keys()
                .await
                .unwrap()
                .filter_map(|k| async { k.ok() })
                .collect()
                .await
        };
        let hashed = |v: &str| {
            use sha2::Digest;
            hex::encode(sha2::Sha256::digest(v.as_bytes()))
        };
        let (email_hash, id_hash) = (hashed(&user.email), hashed(&user.id));
        let owned: Vec<&String> = leftovers
            .iter()
            .filter(|k| {
                k.contains(&user.id)
                    || k.contains(&email_hash)
                    || k.contains(&id_hash)
                    || k.as_str() == echo_job
                    || upload["job"]["id"].as_str() == Some(k.as_str())
            })
            .collect();
        assert!(owned.is_empty(), "bucket {bucket} still holds {owned:?}");
    }
    // Nothing else of the user's lingers in the job_status stream (no purge markers
    // carrying data): the subjects were purged.
    let kv = js.get_key_value("job_status").await.unwrap();
    assert!(kv.entry(&echo_job).await.unwrap().is_none());
    worker.stop().await;
}

/// Messages nats-server has sent to its clients so far (`/varz` `out_msgs`).
async fn messages_sent(nats: &NatsServer) -> u64 {
    let varz: Value = reqwest::get(format!("{}/varz", nats.monitor_url()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    varz["out_msgs"].as_u64().unwrap()
}

/// A guest claim and an account deletion find the owner's jobs through the owner index:
/// with 5,000 statuses of someone else in the bucket, each reads a handful of messages,
/// where one pass over the bucket (the old way) reads at least 5,000. Counted in
/// messages nats-server sent, not in time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_claim_and_a_deletion_read_only_their_owner_s_jobs() {
    const OTHERS: usize = 5_000;
    let (nats, _db, app) = setup(Backend::Sqlite, &[]).await;
    let (guest_cookie, _, upload) = guest_upload(&app).await;
    let job = upload["job"]["id"].as_str().unwrap().to_owned();

    let js = async_nats::jetstream::new(async_nats::connect(nats.url()).await.unwrap());
    let mut acks = Vec::with_capacity(OTHERS);
    for _ in 0..OTHERS {
        let id = uuid::Uuid::now_v7().to_string();
        let status = hast_common::jobs::JobStatus::queued(
            id.clone(),
            "echo",
            5,
            Some("someone-else".into()),
        );
        acks.push(
            js.publish(
                format!("$KV.job_status.{id}"),
                serde_json::to_vec(&status).unwrap().into(),
            )
            .await
            .unwrap(),
        );
    }
    futures::future::try_join_all(acks.into_iter().map(std::future::IntoFuture::into_future))
        .await
        .unwrap();
    let statuses = hast_tests::jobs::status_store(&nats.url()).await;
    let before = messages_sent(&nats).await;
    statuses.for_each_latest(|_, _| {}).await.unwrap();
    let scan = messages_sent(&nats).await - before;
    assert!(scan >= OTHERS as u64, "a full pass sent {scan} messages");

    let before = messages_sent(&nats).await;
    let response = plain_client()
        .post(app.url("/api/v1/auth/register"))
        .header(COOKIE, guest_cookie)
        .header(ORIGIN, app.base())
        .json(&json!({
            "email": format!("indexed-{}@example.com", uuid::Uuid::now_v7().simple()),
            "password": "claim my palms please"
        }))
        .send()
        .await
        .unwrap();
    let claim = messages_sent(&nats).await - before;
    assert_eq!(response.status().as_u16(), 201);
    let (_, body) = json_of(response).await;
    let account_id = body["user"]["id"].as_str().unwrap().to_owned();
    let account = bearer_client(body["token"].as_str().unwrap());
    assert!(
        claim < 500,
        "the claim sent {claim} messages (a pass sends {scan})"
    );
    let owned = statuses.owned_by(&account_id).await.unwrap();
    // The analysis and its thumbnail job.
    assert_eq!(owned.len(), 2, "{owned:?}");
    assert!(
        owned.iter().any(|(id, _)| *id == job),
        "the guest's job is indexed under the account"
    );
    let status = account
        .get(app.url(&format!("/api/v1/jobs/{job}")))
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status.as_u16(), 200, "the claimed job is the account's");

    let before = messages_sent(&nats).await;
    let response = account
        .delete(app.url("/api/v1/auth/me"))
        .json(&json!({"password": "claim my palms please"}))
        .send()
        .await
        .unwrap();
    let deletion = messages_sent(&nats).await - before;
    assert_eq!(response.status().as_u16(), 204);
    assert!(deletion < 500, "the deletion sent {deletion} messages");
    assert!(matches!(
        statuses.get(&job).await,
        Err(hast_common::jobs::StatusError::NotFound)
    ));
    assert!(statuses.owned_by(&account_id).await.unwrap().is_empty());
}

hast_tests::on_both_backends!(
    register_login_logout_and_me,
    wrong_password_and_unknown_email_answer_the_same,
    cookies_are_httponly_lax_and_secure_outside_development,
    sessions_survive_a_restart_and_expire_after_their_ttl,
    csrf_is_refused_from_foreign_origins_only,
    other_users_get_404_and_anonymous_callers_401,
    uploads_are_checked_and_limited_per_user_and_per_address,
    a_guest_uploads_then_claims_the_analysis_on_register,
    the_login_limit_is_shared_by_two_api_processes,
    an_attacker_s_failures_do_not_lock_the_owner_out,
    at_most_the_hourly_ceiling_of_failures_reaches_one_account,
    the_login_backoff_grows_and_waiting_attempts_do_not_extend_it,
    account_deletion_leaves_nothing_behind,
);
