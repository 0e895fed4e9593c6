//! `douyin-local` as a process (the real binary, `douyin-local-under-test` in
//! this package): what a service manager or a container does to it (SIGTERM,
//! SIGINT), the modes of its data folder, and what strangers can make it log.

use std::io::BufRead as _;
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use functions::local::{LocalOptions, LocalServer};
use shared::config::Argon2Cost;
use tests::http::{HeldRequest, Response, request};
use tests::{Session, form_encode, session_of};

/// How long a step of a spawned server may take on a loaded machine.
const PATIENCE: Duration = Duration::from_secs(120);

/// A running `douyin-local`, its output read line by line.
struct Process {
    child: Child,
    address: SocketAddr,
    lines: Receiver<String>,
    log: Arc<Mutex<String>>,
}

impl Process {
    /// Starts the binary on a free port with `data_dir` and `extra` flags;
    /// returns once it says where it listens.
    fn spawn(data_dir: &Path, extra: &[&str]) -> Process {
        let mut command = Command::new(env!("CARGO_BIN_EXE_douyin-local-under-test"));
        command.args(["--addr", "127.0.0.1:0", "--data-dir"]).arg(data_dir).args(extra);
        // The embedded engines, whatever the fidelity tier exports.
        for (name, _) in std::env::vars() {
            if name.starts_with("AWS_ENDPOINT_URL") {
                command.env_remove(name);
            }
        }
        command.env("DOUYIN_LOG", "info").env("NO_COLOR", "1");
        let mut child = command.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("spawn douyin-local");
        let (sender, lines) = std::sync::mpsc::channel();
        let log = Arc::new(Mutex::new(String::new()));
        let stdout: Box<dyn std::io::Read + Send> = Box::new(child.stdout.take().unwrap());
        let stderr: Box<dyn std::io::Read + Send> = Box::new(child.stderr.take().unwrap());
        for output in [stdout, stderr] {
            let (sender, log) = (sender.clone(), Arc::clone(&log));
            std::thread::spawn(move || {
                for line in std::io::BufReader::new(output).lines() {
                    let Ok(line) = line else { return };
                    let line = strip_ansi(&line);
                    log.lock().unwrap().push_str(&format!("{line}\n"));
                    let _ = sender.send(line);
                }
            });
        }
        let mut process = Process { child, address: "127.0.0.1:1".parse().unwrap(), lines, log };
        let line = process.wait_for("douyin-local listening on http://");
        let rest = line.split("listening on http://").nth(1).unwrap();
        process.address = rest.split_whitespace().next().unwrap().parse().unwrap();
        process
    }

    /// Waits for a line of output containing `text`, and returns it.
    fn wait_for(&mut self, text: &str) -> String {
        let deadline = Instant::now() + PATIENCE;
        loop {
            match self.lines.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
                Ok(line) if line.contains(text) => return line,
                Ok(_) => {}
                Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => {
                    let _ = self.child.kill();
                    panic!("no line with {text:?} from douyin-local; its output:\n{}", self.log());
                }
            }
        }
    }

    /// Sends `signal` (`TERM`, `INT`) to the process.
    fn signal(&self, signal: &str) {
        let status = Command::new("kill").arg(format!("-{signal}")).arg(self.child.id().to_string()).status().unwrap();
        assert!(status.success(), "kill -{signal} failed");
    }

    /// Waits until the process exits.
    fn wait(&mut self) -> ExitStatus {
        let deadline = Instant::now() + PATIENCE;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("douyin-local did not exit; its output:\n{}", self.log());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Everything it printed so far.
    fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn strip_ansi(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

async fn call(address: SocketAddr, method: &str, path: &str, params: &[(&str, &str)]) -> Response {
    request(address, method, &format!("{path}?{}", form_encode(params)), None, &[]).await
}

async fn register(address: SocketAddr, name: &str) -> Session {
    let params = [("username", name), ("password", "password1")];
    session_of(&call(address, "POST", "/douyin/user/register/", &params).await.json())
}

fn ticket_headers(ticket: &serde_json::Value) -> Vec<(String, String)> {
    ticket["upload_headers"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(name, value)| (name.clone(), value.as_str().unwrap().to_owned()))
        .collect()
}

/// A stock-client publish and a presigned upload are both in flight (their
/// handlers are reading the bodies, which the test holds half sent) when the
/// signal arrives: the server stops accepting, lets both finish with their
/// real answers, runs the upload's ingest, and exits 0; everything is there
/// after a restart.
async fn in_flight_work_finishes_on(signal: &str) {
    let dir = tempfile::tempdir().unwrap();
    let mut server = Process::spawn(dir.path(), &[]);
    let address = server.address;
    let alice = register(address, "alice").await;

    let clip = tests::fixture("portrait-red-360x640-1s.mp4");
    let (content_type, body) =
        tests::multipart(&[("token", &alice.token), ("title", "inline")], Some(("data", "v.mp4", &clip)));
    let publish = HeldRequest::start(
        address,
        "POST",
        "/douyin/publish/action/",
        &[("content-type".to_owned(), content_type)],
        &body,
    )
    .await;

    let big = tests::fixture("h264-aac-640x360-1s.mp4");
    let length = big.len().to_string();
    let params = [
        ("token", alice.token.as_str()),
        ("title", "presigned"),
        ("content_type", "video/mp4"),
        ("content_length", &length),
    ];
    let ticket = call(address, "POST", "/douyin/publish/upload/", &params).await.json();
    let upload =
        HeldRequest::start_url("PUT", ticket["upload_url"].as_str().unwrap(), &ticket_headers(&ticket), &big).await;

    server.signal(signal);
    server.wait_for("no longer accepting connections");
    assert!(tokio::net::TcpStream::connect(address).await.is_err(), "a new connection was accepted while stopping");

    let published = publish.finish().await;
    assert_eq!((published.status, published.json()["status_code"].as_i64()), (200, Some(0)), "{:?}", published.json());
    let uploaded = upload.finish().await;
    assert_eq!(uploaded.status, 200, "{}", String::from_utf8_lossy(&uploaded.body));
    let status = server.wait();
    assert!(status.success(), "exit status {status:?}; output:\n{}", server.log());
    drop(server);

    // A restart on the same folder: both videos are in the feed, the upload is live.
    let options = LocalOptions {
        addr: "127.0.0.1:0".parse().unwrap(),
        argon2: Argon2Cost::TEST,
        ..LocalOptions::new(dir.path())
    };
    let restarted = LocalServer::start(options).await.unwrap();
    let video_id = ticket["video_id"].as_u64().unwrap().to_string();
    let params = [("token", alice.token.as_str()), ("video_id", &video_id)];
    let state = call(restarted.address, "GET", "/douyin/publish/status/", &params).await.json();
    assert_eq!(state["state"], "live", "{state}");
    let feed = call(restarted.address, "GET", "/douyin/feed/", &[]).await.json();
    let titles: Vec<&str> =
        feed["video_list"].as_array().unwrap().iter().map(|v| v["title"].as_str().unwrap()).collect();
    assert_eq!(titles.len(), 2, "{feed}");
    assert!(titles.contains(&"inline") && titles.contains(&"presigned"), "{titles:?}");
    restarted.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_lets_requests_in_flight_finish_and_exits_0() {
    in_flight_work_finishes_on("TERM").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigint_lets_requests_in_flight_finish_and_exits_0() {
    in_flight_work_finishes_on("INT").await;
}

/// The data folder holds password hashes and every message: the folder and
/// everything in it, including what the engines create while serving, is the
/// owner's only; a folder left readable by an older version is tightened at
/// start, and the server says so.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_data_folder_is_readable_by_its_owner_only() {
    use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _};
    let parent = tempfile::tempdir().unwrap();
    let dir = parent.path().join("data");
    // As an older version left it: world-readable folders, a spool of chat
    // messages (none) and a database. And a file of the user's, not ours.
    std::fs::DirBuilder::new().mode(0o755).create(&dir).unwrap();
    std::fs::DirBuilder::new().mode(0o755).create(dir.join("s3")).unwrap();
    for name in ["chat-spool.jsonl", "dynamodb.sqlite", "notes.txt"] {
        std::fs::OpenOptions::new().create(true).truncate(true).write(true).mode(0o644).open(dir.join(name)).unwrap();
    }

    let mut server = Process::spawn(&dir, &[]);
    assert!(server.log().contains("readable by others: tightened"), "{}", server.log());
    let address = server.address;
    let alice = register(address, "alice").await;
    let clip = tests::fixture("portrait-red-360x640-1s.mp4");
    let (content_type, body) =
        tests::multipart(&[("token", &alice.token), ("title", "private")], Some(("data", "v.mp4", &clip)));
    let published = request(address, "POST", "/douyin/publish/action/", Some(&content_type), &body).await;
    assert_eq!(published.json()["status_code"], 0);
    let bob = register(address, "bob").await;
    let params =
        [("token", alice.token.as_str()), ("to_user_id", &bob.id.to_string()), ("action_type", "1"), ("content", "hi")];
    assert_eq!(call(address, "POST", "/douyin/message/action/", &params).await.json()["status_code"], 0);
    // Checked while it runs (SQLite's journal files exist now) and after it stopped.
    let running = modes(&dir);
    server.signal("TERM");
    assert!(server.wait().success());
    for (when, entries) in [("running", running), ("stopped", modes(&dir))] {
        assert!(entries.iter().any(|(path, _)| path.ends_with("dynamodb.sqlite")), "{entries:?}");
        assert!(entries.len() > 8, "{when}: {entries:?}");
        let notes = entries.iter().find(|(path, _)| path.ends_with("notes.txt")).unwrap();
        assert_eq!(notes.1 & 0o777, 0o644, "a file that is not ours was changed");
        let loose: Vec<_> = entries
            .iter()
            .filter(|(path, _)| !path.ends_with("notes.txt"))
            .filter(|(path, mode)| {
                let expected =
                    if std::fs::symlink_metadata(path).map(|m| m.is_dir()).unwrap_or(false) { 0o700 } else { 0o600 };
                mode & 0o777 != expected
            })
            .collect();
        assert!(loose.is_empty(), "{when}: readable by others: {loose:?}");
    }
}

/// Every entry under `dir`, with `dir` itself, and its mode.
fn modes(dir: &Path) -> Vec<(std::path::PathBuf, u32)> {
    use std::os::unix::fs::PermissionsExt as _;
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(path) = stack.pop() {
        let Ok(metadata) = std::fs::symlink_metadata(&path) else { continue };
        out.push((path.clone(), metadata.permissions().mode()));
        if metadata.is_dir() {
            for entry in std::fs::read_dir(&path).unwrap() {
                stack.push(entry.unwrap().path());
            }
        }
    }
    out
}

/// Anyone who can reach the port can send S3 requests without credentials,
/// or with bad ones: the server must not write a line at ERROR (or WARN) for
/// each, only one quiet line now and then.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_s3_requests_do_not_flood_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = Process::spawn(dir.path(), &[]);
    let address = server.address;
    for n in 0..20 {
        let anonymous = request(address, "GET", &format!("/douyin-media/uploads/{n}"), None, &[]).await;
        assert_eq!(anonymous.status, 403, "{}", String::from_utf8_lossy(&anonymous.body));
        let forged = tests::http::send(
            address,
            "PUT",
            &format!("/douyin-media/uploads/{n}"),
            &[(
                "authorization".to_owned(),
                "AWS4-HMAC-SHA256 Credential=AKIAFORGED/20260101/us-east-1/s3/aws4_request, \
                 SignedHeaders=host, Signature=0000"
                    .to_owned(),
            )],
            b"x",
        )
        .await;
        assert!(forged.status >= 400, "{}", String::from_utf8_lossy(&forged.body));
    }
    // A request of ours after them, so that their lines are out before we read.
    assert_eq!(call(address, "GET", "/douyin/feed/", &[]).await.json()["status_code"], 0);
    server.signal("TERM");
    assert!(server.wait().success());
    let log = server.log();
    // From the moment it listens (starting on a fresh folder logs the
    // missing table at WARN).
    let served = &log[log.find("douyin-local listening").unwrap()..];
    let loud: Vec<&str> = served.lines().filter(|line| line.contains("ERROR") || line.contains(" WARN ")).collect();
    assert!(loud.is_empty(), "{} loud lines for 40 refused requests:\n{}", loud.len(), loud.join("\n"));
    let refusals = served.lines().filter(|line| line.contains("S3 request")).count();
    assert_eq!(refusals, 1, "{served}");
}
