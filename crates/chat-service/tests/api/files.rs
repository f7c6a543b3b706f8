//! Files: uploads, attaching, downloads and the sweeper, on both database engines and on both
//! storage backends — the local filesystem, and a real S3-protocol server (`s3s-fs`) that each
//! test starts on a free port with its own directory and credentials.

use std::io::Cursor;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use chat_service::config::{S3Config, Settings, StorageConfig};
use reqwest::{Response, StatusCode};
use serde_json::{Value, json};
use test_support::{Engine, TempDir};
use uuid::Uuid;
use wire::protocol::SendMessage;
use wire::{ActionBatchResponse, ChatAction};

use crate::helpers::{
    GENERAL, TestApp, User, ack, assert_problem, event, ok, problem, spawn_app_with,
};

/// Where `.ci/run` installs the S3 server the tests start.
const S3S_FS_DEFAULT: &str = "/var/tmp/cloudchat-tools/bin/s3s-fs";
const BUCKET: &str = "cloudchat-test";

#[derive(Debug, Clone, Copy)]
enum Backend {
    Local,
    S3,
}

/// A running `s3s-fs`, killed when dropped.
struct S3Server {
    child: Child,
    _root: TempDir,
    endpoint: String,
}

impl Drop for S3Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn s3s_fs_binary() -> PathBuf {
    let path = std::env::var("S3S_FS_BIN").unwrap_or_else(|_| S3S_FS_DEFAULT.to_owned());
    let path = PathBuf::from(path);
    assert!(
        path.is_file(),
        "the S3 tests need the s3s-fs server at {} (set S3S_FS_BIN to use another): \
         cargo install s3s-fs@0.14.1 --locked --features binary --root /var/tmp/cloudchat-tools",
        path.display()
    );
    path
}

impl S3Server {
    async fn start() -> Self {
        let root = TempDir::new("cloudchat-s3");
        // A bucket of s3s-fs is a directory of its root: this is its CreateBucket.
        std::fs::create_dir_all(root.0.join(BUCKET)).unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut child = Command::new(s3s_fs_binary())
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .args(["--access-key", "test-access", "--secret-key", "test-secret"])
            .arg(&root.0)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting s3s-fs");
        let endpoint = format!("http://127.0.0.1:{port}");
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
            {
                return Self {
                    child,
                    _root: root,
                    endpoint,
                };
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let _ = child.kill();
        let _ = child.wait();
        panic!("s3s-fs did not start listening on {endpoint}");
    }

    fn config(&self) -> StorageConfig {
        StorageConfig::S3(S3Config {
            bucket: BUCKET.to_owned(),
            prefix: "chat".to_owned(),
            endpoint: Some(self.endpoint.clone()),
            region: "us-east-1".to_owned(),
            access_key_id: Some("test-access".to_owned()),
            secret_access_key: Some("test-secret".to_owned()),
            allow_http: true,
            force_path_style: true,
        })
    }
}

/// chat-service on `engine`, its files on `backend`.
struct FilesApp {
    app: TestApp,
    backend: Backend,
    _s3: Option<S3Server>,
}

impl std::ops::Deref for FilesApp {
    type Target = TestApp;
    fn deref(&self) -> &TestApp {
        &self.app
    }
}

async fn spawn(
    engine: Engine,
    backend: Backend,
    tweak: impl FnOnce(&mut Settings) + 'static,
) -> FilesApp {
    let s3 = match backend {
        Backend::Local => None,
        Backend::S3 => Some(S3Server::start().await),
    };
    let storage = s3.as_ref().map(S3Server::config);
    let app = spawn_app_with(engine, move |s| {
        if let Some(storage) = storage {
            s.files.storage = storage;
        }
        tweak(s)
    })
    .await;
    FilesApp {
        app,
        backend,
        _s3: s3,
    }
}

impl FilesApp {
    /// `POST /uploads` with one multipart part.
    async fn upload_multipart(
        &self,
        user: &User,
        part: &str,
        name: &str,
        bytes: &[u8],
    ) -> Response {
        let boundary = "cloudchat-test-boundary-7MA4YWxkTrZu0gW";
        let mut body = Vec::new();
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{part}\"; filename=\"{name}\"\r\nContent-Type: image/png\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        self.client
            .post(self.url("/uploads"))
            .bearer_auth(&user.token)
            .header(
                "content-type",
                format!("multipart/form-data; boundary={boundary}"),
            )
            .body(body)
            .send()
            .await
            .unwrap()
    }

    /// `POST /uploads?filename=` with the file as the body.
    async fn upload_raw(
        &self,
        user: &User,
        name: &str,
        content_type: &str,
        bytes: Vec<u8>,
    ) -> Response {
        let encoded: String = name
            .bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() || b"-._".contains(&b) {
                    (b as char).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect();
        self.client
            .post(self.url(&format!("/uploads?filename={encoded}")))
            .bearer_auth(&user.token)
            .header("content-type", content_type)
            .body(bytes)
            .send()
            .await
            .unwrap()
    }

    async fn upload_ok(&self, user: &User, name: &str, bytes: Vec<u8>) -> Value {
        let res = self
            .upload_raw(user, name, "application/octet-stream", bytes)
            .await;
        assert_eq!(res.status(), StatusCode::CREATED);
        res.json().await.unwrap()
    }

    async fn fetch(&self, user: &User, path: &str, headers: &[(&str, &str)]) -> Response {
        let mut req = self.client.get(self.url(path)).bearer_auth(&user.token);
        for (name, value) in headers {
            req = req.header(*name, *value);
        }
        req.send().await.unwrap()
    }

    /// The objects stored under `prefix`.
    async fn keys(&self, prefix: &str) -> Vec<String> {
        self.state.storage.keys(prefix).await.unwrap()
    }

    /// For the local backend, every file in its directory (staging files included).
    fn files_on_disk(&self) -> Vec<PathBuf> {
        fn walk(dir: &std::path::Path, out: &mut Vec<PathBuf>) {
            for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    walk(&path, out);
                } else {
                    out.push(path);
                }
            }
        }
        let mut out = Vec::new();
        if let Backend::Local = self.backend {
            walk(&self.files_dir.0, &mut out);
        }
        out
    }
}

fn png(width: u32, height: u32) -> Vec<u8> {
    let img = image::DynamicImage::ImageRgb8(image::RgbImage::from_fn(width, height, |x, y| {
        image::Rgb([(x % 256) as u8, (y % 256) as u8, 128])
    }));
    let mut out = Vec::new();
    img.write_to(&mut Cursor::new(&mut out), image::ImageFormat::Png)
        .unwrap();
    out
}

/// A JPEG of `width` x `height` carrying an EXIF block (written here byte by byte) that says
/// "rotate 90° clockwise to show" (orientation 6) and has a GPS position.
fn jpeg_with_exif_gps(width: u32, height: u32) -> Vec<u8> {
    let img = image::DynamicImage::ImageRgb8(image::RgbImage::from_pixel(
        width,
        height,
        image::Rgb([200, 30, 30]),
    ));
    let mut plain = Vec::new();
    img.write_to(&mut Cursor::new(&mut plain), image::ImageFormat::Jpeg)
        .unwrap();
    // TIFF, little-endian: IFD0 with Orientation = 6 and a pointer to the GPS IFD, which holds
    // GPSLatitudeRef "N" and GPSLatitude 48/1 51/1 24/1.
    let mut tiff: Vec<u8> = Vec::new();
    tiff.extend_from_slice(b"II\x2a\x00");
    tiff.extend_from_slice(&8u32.to_le_bytes());
    // IFD0 at 8: 2 entries (2 + 2*12 + 4 = 30 bytes) -> GPS IFD at 38.
    tiff.extend_from_slice(&2u16.to_le_bytes());
    tiff.extend_from_slice(&[0x12, 0x01, 3, 0, 1, 0, 0, 0, 6, 0, 0, 0]); // Orientation SHORT 6
    tiff.extend_from_slice(&[0x25, 0x88, 4, 0, 1, 0, 0, 0]); // GPSInfo LONG
    tiff.extend_from_slice(&38u32.to_le_bytes());
    tiff.extend_from_slice(&0u32.to_le_bytes()); // no next IFD
    // GPS IFD at 38: 2 entries (30 bytes) -> rationals at 68.
    tiff.extend_from_slice(&2u16.to_le_bytes());
    tiff.extend_from_slice(&[0x01, 0x00, 2, 0, 2, 0, 0, 0, b'N', 0, 0, 0]); // GPSLatitudeRef
    tiff.extend_from_slice(&[0x02, 0x00, 5, 0, 3, 0, 0, 0]); // GPSLatitude RATIONAL x3
    tiff.extend_from_slice(&68u32.to_le_bytes());
    tiff.extend_from_slice(&0u32.to_le_bytes());
    for (num, den) in [(48u32, 1u32), (51, 1), (24, 1)] {
        tiff.extend_from_slice(&num.to_le_bytes());
        tiff.extend_from_slice(&den.to_le_bytes());
    }
    let mut app1 = b"Exif\0\0".to_vec();
    app1.extend_from_slice(&tiff);
    let len = (app1.len() + 2) as u16;
    let mut out = vec![0xFF, 0xD8, 0xFF, 0xE1];
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(&app1);
    // The encoder's own JPEG after its SOI.
    out.extend_from_slice(&plain[2..]);
    out
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

fn header<'a>(res: &'a Response, name: &str) -> &'a str {
    res.headers()
        .get(name)
        .unwrap_or_else(|| panic!("no {name} header"))
        .to_str()
        .unwrap()
}

async fn uploads_by_multipart_and_raw_body(engine: Engine, backend: Backend) {
    let app = spawn(engine, backend, |_| {}).await;
    let alice = app.signup("alice").await;
    let res = app
        .upload_multipart(&alice, "file", "../../etc/pic\u{202e}.png", &png(1000, 500))
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["name"], "pic.png");
    assert_eq!(body["contentType"], "image/png");
    assert_eq!(body["width"], 1000);
    assert_eq!(body["height"], 500);
    assert_eq!(body["thumbnail"], json!({"width": 480, "height": 240}));
    let id: Uuid = body["id"].as_str().unwrap().parse().unwrap();
    assert_eq!(id.get_version_num(), 7);
    // The thumbnail is stored and served at its size.
    let res = app
        .fetch(&alice, &format!("/files/{id}/thumbnail"), &[])
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let thumb = image::load_from_memory(&res.bytes().await.unwrap()).unwrap();
    assert_eq!((thumb.width(), thumb.height()), (480, 240));

    let text = "héllo, wörld\n".repeat(10).into_bytes();
    let res = app
        .upload_raw(&alice, "notes.txt", "application/pdf", text.clone())
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let body: Value = res.json().await.unwrap();
    assert_eq!(
        body["contentType"], "text/plain",
        "sniffed, not the client's"
    );
    assert_eq!(body["size"], text.len());
    assert!(body.get("width").is_none() && body.get("thumbnail").is_none());
    // A small image: dimensions, no thumbnail.
    let small = app.upload_ok(&alice, "s.png", png(40, 30)).await;
    assert_eq!(
        (small["width"].clone(), small["height"].clone()),
        (json!(40), json!(30))
    );
    assert!(small.get("thumbnail").is_none());
    let res = app
        .fetch(
            &alice,
            &format!("/files/{}/thumbnail", small["id"].as_str().unwrap()),
            &[],
        )
        .await;
    assert_problem(res, StatusCode::NOT_FOUND, "file_not_found").await;

    // Refusals: a part of another name, no filename for a raw body, no body, no token.
    let res = app.upload_multipart(&alice, "other", "a.txt", b"x").await;
    let body = assert_problem(res, StatusCode::BAD_REQUEST, "validation_failed").await;
    assert_eq!(body["errors"][0]["field"], "file");
    let res = app
        .client
        .post(app.url("/uploads"))
        .bearer_auth(&alice.token)
        .header("content-type", "text/plain")
        .body("x")
        .send()
        .await
        .unwrap();
    assert_problem(res, StatusCode::BAD_REQUEST, "validation_failed").await;
    let res = app
        .upload_raw(&alice, "empty.txt", "text/plain", Vec::new())
        .await;
    assert_problem(
        res,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
    )
    .await;
    let res = app
        .client
        .post(app.url("/uploads?filename=a"))
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    // Only the three good uploads and one thumbnail are stored.
    assert_eq!(app.keys("uploads").await.len(), 3);
    assert_eq!(app.keys("thumbnails").await.len(), 1);
}

async fn html_is_never_served_as_html(engine: Engine, backend: Backend) {
    let app = spawn(engine, backend, |_| {}).await;
    let alice = app.signup("alice").await;
    let html = b"<html><body><script>alert(document.cookie)</script></body></html>".to_vec();
    let res = app
        .upload_raw(&alice, "cat.png", "image/png", html.clone())
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["contentType"], "text/plain");
    let res = app
        .fetch(
            &alice,
            &format!("/files/{}", body["id"].as_str().unwrap()),
            &[],
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(header(&res, "content-type"), "text/plain; charset=utf-8");
    assert!(header(&res, "content-disposition").starts_with("attachment;"));
    assert_eq!(header(&res, "x-content-type-options"), "nosniff");
    assert_eq!(
        header(&res, "content-security-policy"),
        "default-src 'none'; sandbox"
    );
    assert_eq!(res.bytes().await.unwrap().to_vec(), html);
    // Binary junk is octet-stream, also an attachment.
    let junk = app
        .upload_ok(&alice, "x.gif", vec![0u8, 1, 2, 255, 254])
        .await;
    assert_eq!(junk["contentType"], "application/octet-stream");
}

async fn attached_files_reach_the_room_and_only_it(engine: Engine, backend: Backend) {
    let app = spawn(engine, backend, |_| {}).await;
    let alice = app.signup("alice").await;
    let bob = app.signup("bob").await;
    let carol = app.signup("carol").await;
    let room = app.create_room(&alice, "team").await;
    app.add_member_ok(&alice, room, &bob).await;
    let up = app.upload_ok(&alice, "plan.png", png(600, 300)).await;
    let id = up["id"].as_str().unwrap().to_owned();

    // Before it is attached, only its owner can fetch it.
    assert_eq!(
        app.fetch(&alice, &format!("/files/{id}"), &[])
            .await
            .status(),
        StatusCode::OK
    );
    let res = app.fetch(&bob, &format!("/files/{id}"), &[]).await;
    assert_problem(res, StatusCode::NOT_FOUND, "file_not_found").await;

    // Attached by a REST post, with no text.
    let res = app
        .post(
            &alice,
            &format!("/rooms/{room}/messages"),
            &json!({"content": "", "clientMsgId": "f-1", "attachmentIds": [id]}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let message: Value = res.json().await.unwrap();
    assert_eq!(message["content"], "");
    let attachment = &message["attachments"][0];
    assert_eq!(attachment["id"], id);
    assert_eq!(attachment["name"], "plan.png");
    assert_eq!(attachment["contentType"], "image/png");
    assert_eq!(attachment["width"], 600);
    assert_eq!(attachment["url"], format!("/files/{id}"));
    assert_eq!(attachment["thumbnailUrl"], format!("/files/{id}/thumbnail"));
    // The room's delivery carries it too.
    // (Creating the room and adding bob published first.)
    let published = app.published(3).await;
    let pushed = published
        .iter()
        .flat_map(|p| &p.deliveries)
        .map(|d| serde_json::to_value(&d.payload).unwrap())
        .find(|p| p["type"] == "message")
        .expect("the message was published");
    assert_eq!(pushed["message"]["attachments"], message["attachments"]);
    // A retry answers the original with its files.
    let res = app
        .post(
            &alice,
            &format!("/rooms/{room}/messages"),
            &json!({"content": "", "clientMsgId": "f-1", "attachmentIds": [id]}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let retried: Value = res.json().await.unwrap();
    assert_eq!(retried["attachments"], message["attachments"]);
    // History and the change feed carry it.
    let history = app.history(&bob, room, "").await;
    assert_eq!(
        history["messages"][0]["attachments"],
        message["attachments"]
    );
    let changes: Value = app
        .get(&bob, &format!("/rooms/{room}/changes?sinceRev=0"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        changes["messages"][0]["attachments"],
        message["attachments"]
    );

    // Members fetch it; others get 404 as for a missing file.
    assert_eq!(
        app.fetch(&bob, &format!("/files/{id}"), &[]).await.status(),
        StatusCode::OK
    );
    let res = app.fetch(&carol, &format!("/files/{id}"), &[]).await;
    assert_problem(res, StatusCode::NOT_FOUND, "file_not_found").await;
    let res = app
        .fetch(&carol, &format!("/files/{id}/thumbnail"), &[])
        .await;
    assert_problem(res, StatusCode::NOT_FOUND, "file_not_found").await;
    let res = app
        .fetch(&bob, &format!("/files/{}", Uuid::now_v7()), &[])
        .await;
    assert_problem(res, StatusCode::NOT_FOUND, "file_not_found").await;

    // An upload goes on one message only, and only its owner's.
    let res = app
        .post(
            &alice,
            &format!("/rooms/{GENERAL}/messages"),
            &json!({"content": "again", "attachmentIds": [id]}),
        )
        .await;
    let body = assert_problem(res, StatusCode::BAD_REQUEST, "validation_failed").await;
    assert_eq!(body["errors"][0]["field"], "attachmentIds");
    let bobs = app.upload_ok(&bob, "b.txt", b"bob's".to_vec()).await;
    let res = app
        .post(
            &alice,
            &format!("/rooms/{GENERAL}/messages"),
            &json!({"content": "", "attachmentIds": [bobs["id"]]}),
        )
        .await;
    assert_problem(res, StatusCode::BAD_REQUEST, "validation_failed").await;
    // Neither text nor files; too many files.
    let res = app
        .post(
            &alice,
            &format!("/rooms/{GENERAL}/messages"),
            &json!({"content": ""}),
        )
        .await;
    assert_problem(res, StatusCode::BAD_REQUEST, "validation_failed").await;
    let many: Vec<Uuid> = (0..11).map(|_| Uuid::now_v7()).collect();
    let res = app
        .post(
            &alice,
            &format!("/rooms/{GENERAL}/messages"),
            &json!({"content": "x", "attachmentIds": many}),
        )
        .await;
    assert_problem(res, StatusCode::BAD_REQUEST, "validation_failed").await;
}

async fn a_socket_send_attaches_files(engine: Engine, backend: Backend) {
    let app = spawn(engine, backend, |_| {}).await;
    let alice = app.signup("alice").await;
    let a = app.upload_ok(&alice, "a.txt", b"first".to_vec()).await;
    let b = app.upload_ok(&alice, "b.png", png(10, 10)).await;
    let ids: Vec<Uuid> = [&a, &b]
        .iter()
        .map(|u| u["id"].as_str().unwrap().parse().unwrap())
        .collect();
    let send = SendMessage {
        room_id: GENERAL,
        content: String::new(),
        client_msg_id: Some("ws-1".to_owned()),
        reply_to_id: None,
        attachment_ids: ids.clone(),
    };
    let answer = app
        .action_ok(&alice, ChatAction::SendMessage(send.clone()))
        .await;
    let (_, message) = ack(&answer);
    let got: Vec<Uuid> = message.attachments.iter().map(|a| a.id).collect();
    assert_eq!(got, ids, "in the order given");
    assert_eq!(message.attachments[0].content_type, "text/plain");
    assert_eq!(message.attachments[1].width, Some(10));
    assert!(message.attachments[1].thumbnail_url.is_none());
    let delivered = serde_json::to_value(&answer.outbound[0].payload).unwrap();
    assert_eq!(
        delivered["message"]["attachments"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    // A retried socket send is acked with the same files.
    let again = app.action_ok(&alice, ChatAction::SendMessage(send)).await;
    assert_eq!(ack(&again).1.attachments, message.attachments);
    assert!(again.outbound.is_empty());
    // Everyone in general may fetch them.
    let bob = app.signup("bob").await;
    let res = app.fetch(&bob, &format!("/files/{}", ids[0]), &[]).await;
    assert_eq!(res.bytes().await.unwrap().as_ref(), b"first");

    // Two sends in one relay batch name the same upload: both pass the check before they
    // are queued, and the conditional update in the transaction gives it to one only.
    let c = app.upload_ok(&alice, "c.txt", b"contested".to_vec()).await;
    let c: Uuid = c["id"].as_str().unwrap().parse().unwrap();
    let contested = |cid: &str| {
        event(
            &alice,
            "conn-1",
            ChatAction::SendMessage(SendMessage {
                room_id: GENERAL,
                content: cid.to_owned(),
                client_msg_id: Some(cid.to_owned()),
                reply_to_id: None,
                attachment_ids: vec![c],
            }),
        )
    };
    let res = app
        .batch(vec![contested("race-1"), contested("race-2")])
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let body: ActionBatchResponse = res.json().await.unwrap();
    let (_, first) = ack(ok(&body.results[0]));
    assert_eq!(first.attachments.len(), 1);
    assert_eq!(first.attachments[0].id, c);
    let refused = problem(&body.results[1]);
    assert_eq!(refused.code.as_str(), "validation_failed");
    assert_eq!(refused.errors[0].field, "attachmentIds");
    let history = app.history(&alice, GENERAL, "").await;
    let carrying: Vec<&Value> = history["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| {
            m["attachments"]
                .as_array()
                .unwrap()
                .iter()
                .any(|a| a["id"] == c.to_string())
        })
        .collect();
    assert_eq!(carrying.len(), 1, "one message carries the upload");
}

async fn downloads_support_ranges_etags_and_the_cookie(engine: Engine, backend: Backend) {
    let app = spawn(engine, backend, |_| {}).await;
    let alice = app.signup("alice").await;
    let data: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
    let up = app
        .upload_ok(&alice, "report final.bin", data.clone())
        .await;
    let path = format!("/files/{}", up["id"].as_str().unwrap());

    let res = app.fetch(&alice, &path, &[]).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(header(&res, "content-length"), "100000");
    assert_eq!(header(&res, "content-type"), "application/octet-stream");
    assert_eq!(header(&res, "accept-ranges"), "bytes");
    assert!(header(&res, "cache-control").starts_with("private, max-age="));
    assert_eq!(
        header(&res, "content-disposition"),
        "attachment; filename=\"report final.bin\"; filename*=UTF-8''report%20final.bin"
    );
    let etag = header(&res, "etag").to_owned();
    assert_eq!(etag, format!("\"{}-100000\"", up["id"].as_str().unwrap()));
    assert_eq!(res.bytes().await.unwrap().to_vec(), data);

    let res = app.fetch(&alice, &path, &[("range", "bytes=10-19")]).await;
    assert_eq!(res.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(header(&res, "content-range"), "bytes 10-19/100000");
    assert_eq!(header(&res, "content-length"), "10");
    assert_eq!(res.bytes().await.unwrap().to_vec(), data[10..20]);
    let res = app.fetch(&alice, &path, &[("range", "bytes=-5")]).await;
    assert_eq!(res.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(res.bytes().await.unwrap().to_vec(), data[99_995..]);
    let res = app
        .fetch(&alice, &path, &[("range", "bytes=100000-")])
        .await;
    assert_eq!(res.status(), StatusCode::RANGE_NOT_SATISFIABLE);
    assert_eq!(header(&res, "content-range"), "bytes */100000");
    let res = app.fetch(&alice, &path, &[("if-none-match", &etag)]).await;
    assert_eq!(res.status(), StatusCode::NOT_MODIFIED);
    assert!(res.bytes().await.unwrap().is_empty());

    // Browsers: the cookie, scoped to /files.
    let res = app
        .client
        .post(app.url("/files/cookie"))
        .bearer_auth(&alice.token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let set = header(&res, "set-cookie").to_owned();
    assert!(
        set.starts_with(&format!("cc_files={};", alice.token)),
        "{set}"
    );
    for part in ["HttpOnly", "SameSite=Strict", "Path=/files", "Max-Age="] {
        assert!(set.contains(part), "{set}");
    }
    assert!(
        !set.contains("Secure"),
        "not on plain http in development: {set}"
    );
    let res = app
        .client
        .get(app.url(&path))
        .header("cookie", format!("cc_files={}", alice.token))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let res = app
        .client
        .get(app.url(&path))
        .header("cookie", "cc_files=not-a-token")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let res = app
        .client
        .delete(app.url("/files/cookie"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert!(header(&res, "set-cookie").contains("Max-Age=0"));
}

async fn size_limit_and_quota(engine: Engine, backend: Backend) {
    // Past 6 MiB: the writer has already started a multipart upload (5 MiB parts) when the
    // limit stops it, so this also checks the partial upload is aborted.
    let max = 6 * 1024 * 1024;
    let app = spawn(engine, backend, move |s| {
        s.files.upload_max_bytes = max;
        s.files.upload_quota_bytes = max + 1024 * 1024;
        s.files.uploads_per_hour = 3;
    })
    .await;
    let alice = app.signup("alice").await;
    // Within the multipart slack, so that no declared length gives it away: the limit is
    // met while the body streams.
    let big = vec![7u8; max as usize + 10_000];
    let res = app.upload_multipart(&alice, "file", "big.bin", &big).await;
    let body = assert_problem(res, StatusCode::PAYLOAD_TOO_LARGE, "upload_too_large").await;
    assert!(body["detail"].as_str().unwrap().contains(&max.to_string()));
    assert!(app.keys("uploads").await.is_empty());
    assert!(app.files_on_disk().is_empty(), "{:?}", app.files_on_disk());
    // A declared length past the limit is refused before anything is stored.
    let res = app
        .upload_raw(
            &alice,
            "big.bin",
            "application/octet-stream",
            vec![1u8; max as usize + 200_000],
        )
        .await;
    assert_problem(res, StatusCode::PAYLOAD_TOO_LARGE, "upload_too_large").await;

    // The quota counts live uploads: 4 MiB, then 4 MiB more does not fit.
    let four = vec![3u8; 4 * 1024 * 1024];
    app.upload_ok(&alice, "one.bin", four.clone()).await;
    let res = app
        .upload_raw(&alice, "two.bin", "application/octet-stream", four.clone())
        .await;
    let body = assert_problem(res, StatusCode::PAYLOAD_TOO_LARGE, "upload_quota_exceeded").await;
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains(&(max + 1024 * 1024).to_string())
    );
    assert_eq!(app.keys("uploads").await.len(), 1);
    // Three uploads an hour (refused ones count): the fourth waits.
    let res = app
        .upload_raw(
            &alice,
            "three.bin",
            "application/octet-stream",
            b"x".to_vec(),
        )
        .await;
    assert!(res.headers().get("retry-after").is_some());
    assert_problem(res, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
    // Others have their own quota.
    let bob = app.signup("bob").await;
    app.upload_ok(&bob, "bob.bin", four).await;
    let metrics = test_support::get_text(&app.client, &app.url("/metrics")).await;
    for reason in ["too_large", "quota", "rate_limited"] {
        assert!(
            metrics.contains(&format!("uploads_rejected_total{{reason=\"{reason}\"}}")),
            "{metrics}"
        );
    }
}

async fn exif_is_stripped_and_orientation_applied(engine: Engine, backend: Backend) {
    let app = spawn(engine, backend, |_| {}).await;
    let alice = app.signup("alice").await;
    let original = jpeg_with_exif_gps(64, 32);
    assert!(contains(&original, b"Exif\0\0"));
    let up = app.upload_ok(&alice, "holiday.jpg", original).await;
    assert_eq!(up["contentType"], "image/jpeg");
    // Orientation 6: shown rotated, so 32 wide and 64 high.
    assert_eq!(
        (up["width"].clone(), up["height"].clone()),
        (json!(32), json!(64))
    );
    let res = app
        .fetch(
            &alice,
            &format!("/files/{}", up["id"].as_str().unwrap()),
            &[],
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(header(&res, "content-disposition").starts_with("inline;"));
    let served = res.bytes().await.unwrap();
    assert_eq!(up["size"], served.len());
    assert!(!contains(&served, b"Exif"), "the EXIF block is gone");
    assert!(!contains(&served, &[0xFF, 0xE1]), "no APP1 segment");
    let decoded = image::load_from_memory(&served).unwrap();
    assert_eq!((decoded.width(), decoded.height()), (32, 64));
}

async fn the_sweeper_removes_unattached_and_deleted_files(engine: Engine, backend: Backend) {
    let app = spawn(engine, backend, |s| {
        s.files.unattached_ttl = Duration::ZERO;
    })
    .await;
    let alice = app.signup("alice").await;
    let stray = app.upload_ok(&alice, "stray.png", png(600, 600)).await;
    let kept = app.upload_ok(&alice, "kept.txt", b"kept".to_vec()).await;
    let message = app
        .post(
            &alice,
            &format!("/rooms/{GENERAL}/messages"),
            &json!({"content": "see", "attachmentIds": [kept["id"]]}),
        )
        .await
        .json::<Value>()
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(5)).await;
    let swept = chat_service::ops::uploads::sweep(&app.state).await.unwrap();
    assert_eq!((swept.expired, swept.removed), (1, 1));
    assert_eq!(app.keys("uploads").await.len(), 1);
    assert!(app.keys("thumbnails").await.is_empty());
    let res = app
        .fetch(
            &alice,
            &format!("/files/{}", stray["id"].as_str().unwrap()),
            &[],
        )
        .await;
    assert_problem(res, StatusCode::NOT_FOUND, "file_not_found").await;
    let kept_path = format!("/files/{}", kept["id"].as_str().unwrap());
    assert_eq!(
        app.fetch(&alice, &kept_path, &[]).await.status(),
        StatusCode::OK
    );

    // Deleting the message stops serving its file at once; the sweeper then removes it.
    let res = app
        .delete(&alice, &format!("/messages/{}", message["id"]))
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let res = app.fetch(&alice, &kept_path, &[]).await;
    assert_problem(res, StatusCode::NOT_FOUND, "file_not_found").await;
    let history = app.history(&alice, GENERAL, "").await;
    assert_eq!(history["messages"][0]["attachments"], json!([]));
    let swept = chat_service::ops::uploads::sweep(&app.state).await.unwrap();
    assert_eq!(swept.removed, 1);
    assert!(app.keys("uploads").await.is_empty());
    let metrics = test_support::get_text(&app.client, &app.url("/metrics")).await;
    assert!(metrics.contains("files_swept_total"), "{metrics}");
    // Readiness names the storage check.
    let ready = test_support::get_text(&app.client, &app.url("/readyz")).await;
    assert!(ready.contains("storage"), "{ready}");
}

/// Each test on SQLite and PostgreSQL, with local and S3 storage.
macro_rules! files_tests {
    ($($name:ident),* $(,)?) => {
        mod sqlite_local {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { super::$name(test_support::Engine::Sqlite, super::Backend::Local).await })*
        }
        mod sqlite_s3 {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { super::$name(test_support::Engine::Sqlite, super::Backend::S3).await })*
        }
        mod postgres_local {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { super::$name(test_support::Engine::Postgres, super::Backend::Local).await })*
        }
        mod postgres_s3 {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { super::$name(test_support::Engine::Postgres, super::Backend::S3).await })*
        }
    };
}

files_tests!(
    uploads_by_multipart_and_raw_body,
    html_is_never_served_as_html,
    attached_files_reach_the_room_and_only_it,
    a_socket_send_attaches_files,
    downloads_support_ranges_etags_and_the_cookie,
    size_limit_and_quota,
    exif_is_stripped_and_orientation_applied,
    the_sweeper_removes_unattached_and_deleted_files,
);
