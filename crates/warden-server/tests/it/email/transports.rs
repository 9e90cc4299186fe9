//! Mail over the real transports (an SMTP sink, the outbox folder), the SQL-server flows and the links of the pages.

use super::*;

// ------------------------------------------------------------------ real transports

/// What the SMTP sink received.
#[derive(Debug, Clone)]
struct Received {
    from: String,
    to: Vec<String>,
    data: String,
}

/// A tiny SMTP server on loopback that records messages. With `fail_first`,
/// the first DATA is answered `451` (a temporary failure).
async fn smtp_sink(fail_first: bool) -> (u16, Arc<Mutex<Vec<Received>>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let got = Arc::new(Mutex::new(Vec::new()));
    let failed = Arc::new(std::sync::atomic::AtomicBool::new(!fail_first));
    let sink = got.clone();
    tokio::spawn(async move {
        loop {
            let Ok((sock, _)) = listener.accept().await else {
                return;
            };
            let sink = sink.clone();
            let failed = failed.clone();
            tokio::spawn(async move {
                let (r, mut w) = sock.into_split();
                let mut r = BufReader::new(r);
                w.write_all(b"220 sink.test ESMTP\r\n").await.unwrap();
                let (mut from, mut to) = (String::new(), Vec::new());
                let mut line = String::new();
                loop {
                    line.clear();
                    if r.read_line(&mut line).await.unwrap_or(0) == 0 {
                        return;
                    }
                    let cmd = line.trim_end().to_owned();
                    let upper = cmd.to_ascii_uppercase();
                    let reply: &[u8] = if upper.starts_with("EHLO") {
                        b"250-sink.test\r\n250 8BITMIME\r\n"
                    } else if upper.starts_with("HELO")
                        || upper.starts_with("RSET")
                        || upper.starts_with("NOOP")
                    {
                        b"250 OK\r\n"
                    } else if upper.starts_with("MAIL FROM:") {
                        from = cmd[10..].trim().to_owned();
                        to.clear();
                        b"250 OK\r\n"
                    } else if upper.starts_with("RCPT TO:") {
                        to.push(cmd[8..].trim().to_owned());
                        b"250 OK\r\n"
                    } else if upper == "DATA" {
                        w.write_all(b"354 go ahead\r\n").await.unwrap();
                        let mut data = String::new();
                        loop {
                            line.clear();
                            if r.read_line(&mut line).await.unwrap_or(0) == 0 {
                                return;
                            }
                            if line == ".\r\n" {
                                break;
                            }
                            data.push_str(
                                line.strip_prefix('.')
                                    .filter(|_| line.starts_with(".."))
                                    .unwrap_or(&line),
                            );
                        }
                        if !failed.swap(true, std::sync::atomic::Ordering::SeqCst) {
                            b"451 try again later\r\n"
                        } else {
                            sink.lock().unwrap().push(Received {
                                from: from.clone(),
                                to: to.clone(),
                                data,
                            });
                            b"250 queued\r\n"
                        }
                    } else if upper == "QUIT" {
                        w.write_all(b"221 bye\r\n").await.unwrap();
                        return;
                    } else {
                        b"502 not implemented\r\n"
                    };
                    w.write_all(reply).await.unwrap();
                }
            });
        }
    });
    (port, got)
}

async fn wait_received(got: &Arc<Mutex<Vec<Received>>>, n: usize) -> Received {
    for _ in 0..500 {
        if let Some(m) = got.lock().unwrap().get(n - 1) {
            return m.clone();
        }
        tokio::time::sleep(StdDuration::from_millis(10)).await;
    }
    panic!("the SMTP sink never got mail {n}");
}

/// Undo quoted-printable soft line breaks and `=3D`.
fn unqp(s: &str) -> String {
    s.replace("=\r\n", "").replace("=3D", "=")
}

/// The standalone server's own wiring (`build_warden`): SMTP when configured.
async fn server_app(cfg: &Config) -> (Router, warden_axum::Warden) {
    let store = warden_server::open_store(&cfg.database_url).await.unwrap();
    let (warden, _) = warden_server::build_warden(cfg, store).await.unwrap();
    (warden_server::app(cfg, &warden), warden)
}

async fn signed_in(router: &Router, login: &str, email: &str) -> String {
    call(
        router,
        "POST",
        "/auth/register",
        None,
        Some(json!({"login": login, "password": PASSWORD, "email": email})),
    )
    .await
    .assert_status(201);
    let r = call(
        router,
        "POST",
        "/auth/login",
        None,
        Some(json!({"login": login, "password": PASSWORD})),
    )
    .await;
    r.assert_status(200);
    r.json()["access_token"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn smtp_mail_arrives_and_its_link_works_once() {
    let (port, got) = smtp_sink(false).await;
    let cfg = config(|c| {
        c.smtp_url = Some(format!("smtp://127.0.0.1:{port}"));
        c.smtp_from = "Warden Test <auth@example.com>".into();
    });
    let (router, warden) = server_app(&cfg).await;
    let at = signed_in(&router, "smtpuser", "smtp.user@example.com").await;
    call(&router, "POST", "/auth/email/verification", Some(&at), None)
        .await
        .assert_status(202);
    let m = wait_received(&got, 1).await;
    assert_eq!(m.from, "<auth@example.com>");
    assert_eq!(m.to, vec!["<smtp.user@example.com>".to_owned()]);
    let data = unqp(&m.data);
    assert!(
        data.contains("Subject: Confirm your email address"),
        "{data}"
    );
    assert!(data.contains("multipart/alternative"), "{data}");
    assert!(
        data.contains("https://id.example.com/ui/email/verify?token="),
        "{data}"
    );
    let token = token_in(&data);
    assert_eq!(token.len(), 43);
    call(
        &router,
        "POST",
        "/auth/email/verify",
        None,
        Some(json!({"token": token})),
    )
    .await
    .assert_status(204);
    call(
        &router,
        "POST",
        "/auth/email/verify",
        None,
        Some(json!({"token": token})),
    )
    .await
    .assert_problem(400, "invalid_token");

    // Forgot: a reset mail over SMTP for a known address, none for an unknown one.
    call(
        &router,
        "POST",
        "/auth/password/forgot",
        None,
        Some(json!({"email": "who@example.com"})),
    )
    .await
    .assert_status(202);
    call(
        &router,
        "POST",
        "/auth/password/forgot",
        None,
        Some(json!({"email": "smtp.user@example.com"})),
    )
    .await
    .assert_status(202);
    let m = wait_received(&got, 2).await;
    assert!(unqp(&m.data).contains("/ui/password/reset?token="));
    // Every accepted mail delivered: none went to the unknown address.
    assert!(warden.settle(StdDuration::from_secs(10)).await);
    assert_eq!(got.lock().unwrap().len(), 2);

    let metrics = call(&router, "GET", "/metrics", None, None).await;
    let text = metrics.text();
    assert!(text.contains("warden_mail_sent_total"), "{text}");
    assert!(text.contains("warden_mail_failures_total"), "{text}");
}

#[tokio::test]
async fn smtp_failures_are_retried() {
    let (port, got) = smtp_sink(true).await;
    let smtp = SmtpMailer::new(
        &format!("smtp://127.0.0.1:{port}"),
        "Warden <no-reply@localhost>",
    )
    .unwrap();
    let queued = QueuedMailer::spawn(Arc::new(smtp), 4, vec![StdDuration::from_millis(20)]);
    queued
        .send(Mail {
            to: "x@example.com".into(),
            subject: "Hello".into(),
            text: "plain".into(),
            html: None,
        })
        .await
        .unwrap();
    let m = wait_received(&got, 1).await;
    assert!(m.data.contains("plain"));
    assert!(m.data.contains("Subject: Hello"));
}

#[tokio::test]
async fn unreachable_smtp_never_fails_the_request() {
    // A port with nothing listening.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let cfg = config(|c| c.smtp_url = Some(format!("smtp://127.0.0.1:{port}")));
    let (router, _warden) = server_app(&cfg).await;
    let at = signed_in(&router, "nosmtp", "nosmtp@example.com").await;
    call(&router, "POST", "/auth/email/verification", Some(&at), None)
        .await
        .assert_status(202);
}

#[tokio::test]
async fn outbox_mode_writes_an_eml_file() {
    let dir = std::env::temp_dir().join(format!("warden-outbox-{}", uuid::Uuid::now_v7()));
    let cfg = config(|c| {
        c.smtp_url = None;
        c.outbox_dir = dir.display().to_string();
    });
    let (router, warden) = server_app(&cfg).await;
    let at = signed_in(&router, "outboxer", "outboxer@example.com").await;
    call(&router, "POST", "/auth/email/verification", Some(&at), None)
        .await
        .assert_status(202);
    // Written once every accepted mail is delivered.
    assert!(warden.settle(StdDuration::from_secs(10)).await);
    let files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    let [path] = files.as_slice() else {
        panic!("one .eml file in the outbox: {files:?}");
    };
    assert_eq!(path.extension().unwrap(), "eml");
    let eml = unqp(&std::fs::read_to_string(path).unwrap());
    assert!(eml.contains("To: outboxer@example.com"), "{eml}");
    let token = token_in(&eml);
    call(
        &router,
        "POST",
        "/auth/email/verify",
        None,
        Some(json!({"token": token})),
    )
    .await
    .assert_status(204);
    std::fs::remove_dir_all(&dir).unwrap();
}

// The main flows again in one test on the SQL servers; names are unique
// so the test could run again on the same database.
each_backend!([postgres, mysql] async fn sql_server_flows(b) {
    let app = app(b).await;
    let tag = uuid::Uuid::now_v7().simple().to_string();
    let (login, email) = (format!("pg{tag}"), format!("pg{tag}@example.com"));
    let at = app.user(&login, &email).await;
    app.call("POST", "/auth/email/verification", Some(&at), None)
        .await
        .assert_status(202);
    let token = token_in(&app.mails.last().text);
    app.verify(&token).await.assert_status(204);
    app.verify(&token).await.assert_problem(400, "invalid_token");

    app.forgot(&email).await.assert_status(202);
    let token = token_in(&app.mails.wait_for(2).await.text);
    app.reset(&token, NEW_PASSWORD).await.assert_status(204);
    app.reset(&token, NEW_PASSWORD)
        .await
        .assert_problem(400, "invalid_token");
    app.call("GET", "/auth/me", Some(&at), None)
        .await
        .assert_status(401);
    let at = app.access(&login, NEW_PASSWORD).await;

    let new_email = format!("pg{tag}-new@example.com");
    app.call(
        "POST",
        "/auth/email/change",
        Some(&at),
        Some(json!({"new_email": new_email, "password": NEW_PASSWORD})),
    )
    .await
    .assert_status(202);
    let mail = app.mails.wait_for(3).await;
    assert_eq!(mail.to, new_email);
    app.verify(&token_in(&mail.text)).await.assert_status(204);
    let r = app.call("GET", "/auth/email", Some(&at), None).await;
    assert_eq!(r.json(), json!({"email": new_email, "verified": true}));
});

/// Mailed links open the hosted pages when they are served, the API's own
/// routes (under the prefix) when they are off.
#[tokio::test]
async fn mailed_links_follow_the_pages_setting() {
    for (ui, base) in [
        (true, "https://id.example.com/ui/email/verify?token="),
        (false, "https://id.example.com/auth/email/verify?token="),
    ] {
        let app = app_with(Backend::Memory, |c| c.ui = ui).await;
        let at = app.user("linky", "linky@example.com").await;
        app.call("POST", "/auth/email/verification", Some(&at), None)
            .await
            .assert_status(202);
        let mail = app.mails.last();
        assert!(mail.text.contains(base), "ui={ui}: {}", mail.text);
    }
}
