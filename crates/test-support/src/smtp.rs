//! A real SMTP server for the e-mail tests: `scripts/test-peers/smtp_sink.py` (aiosmtpd),
//! which stores every message it receives as a JSON file that the tests read.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::Value;

use crate::TempDir;

/// The SMTP server: one JSON file per message received (see the script for its fields).
pub struct SmtpSink {
    child: Child,
    pub port: u16,
    dir: TempDir,
    /// Messages with this subject are left out of what the sink reports.
    ignored: Option<String>,
}

impl SmtpSink {
    /// Starts the sink with the Python of the test peers ([`crate::test_peers_python`]).
    pub fn start() -> Self {
        let python = crate::test_peers_python();
        let script = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../scripts/test-peers/smtp_sink.py"
        );
        let dir = TempDir::new("cloudchat-smtp");
        let mut child = Command::new(&python)
            .arg(script)
            .arg(&dir.0)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("starting the SMTP sink");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = line
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("the SMTP sink printed {line:?}, not its port"));
        Self {
            child,
            port,
            dir,
            ignored: None,
        }
    }

    /// Leaves messages with this subject out of what the sink reports (e.g. the verification
    /// link every sign-up is mailed, in tests about other mail).
    pub fn ignoring(mut self, subject: &str) -> Self {
        self.ignored = Some(subject.to_owned());
        self
    }

    /// The `SMTP_URL` that delivers to this sink.
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// The messages received so far for `to`, oldest first.
    pub fn mails_to(&self, to: &str) -> Vec<Value> {
        let mut names: Vec<_> = std::fs::read_dir(&self.dir.0)
            .unwrap()
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        names.sort();
        names
            .iter()
            .map(|p| serde_json::from_slice::<Value>(&std::fs::read(p).unwrap()).unwrap())
            .filter(|m| m["rcptTos"].as_array().unwrap().iter().any(|r| r == to))
            .filter(|m| self.ignored.as_deref() != m["subject"].as_str())
            .collect()
    }

    /// Waits up to 15 s for the `n`th message to `to`.
    pub async fn wait_for(&self, to: &str, n: usize) -> Vec<Value> {
        for _ in 0..150 {
            let mails = self.mails_to(to);
            if mails.len() >= n {
                return mails;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("no mail number {n} to {to} within 15 s");
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A header of a received message.
pub fn mail_header<'a>(mail: &'a Value, name: &str) -> Option<&'a str> {
    mail["headers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h[0].as_str().unwrap().eq_ignore_ascii_case(name))
        .and_then(|h| h[1].as_str())
}

/// The plain-text body of a received message, with `\n` line ends.
pub fn mail_text(mail: &Value) -> String {
    mail["text"].as_str().unwrap().replace("\r\n", "\n")
}

/// The first link in a received message's body that starts with `prefix`.
pub fn mail_link(mail: &Value, prefix: &str) -> Option<String> {
    mail_text(mail)
        .split_whitespace()
        .find(|word| word.starts_with(prefix))
        .map(str::to_owned)
}
