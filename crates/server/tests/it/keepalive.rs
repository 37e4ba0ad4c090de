//! Answers sent without reading the request body keep a pooled connection usable.
//!
//! Each test speaks HTTP/1.1 on one raw TCP connection, as a pooling client does, and sends the
//! body a moment after the headers, as clients that write headers and body separately do: the
//! server has then answered before the body arrived, which is when a dropped body used to close
//! the connection under the next request.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::spawn_app;

/// One HTTP/1.1 connection, reused for every request.
struct Connection {
    stream: TcpStream,
    /// Bytes read past the end of the previous answer.
    buffered: Vec<u8>,
}

/// A parsed answer.
struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

impl Connection {
    async fn open(addr: &str) -> Self {
        Self {
            stream: TcpStream::connect(addr).await.unwrap(),
            buffered: Vec::new(),
        }
    }

    /// Sends the head, waits, then sends the body; returns the answer.
    async fn send(
        &mut self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: &[u8],
    ) -> Option<Answer> {
        self.send_declaring(method, path, token, body.len(), body)
            .await
    }

    /// Like [`Self::send`], with a `Content-Length` of `declared` whatever the length of `body`.
    async fn send_declaring(
        &mut self,
        method: &str,
        path: &str,
        token: Option<&str>,
        declared: usize,
        body: &[u8],
    ) -> Option<Answer> {
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\n\
             content-length: {declared}\r\n"
        );
        if let Some(token) = token {
            head.push_str(&format!("authorization: Bearer {token}\r\n"));
        }
        head.push_str("\r\n");
        self.stream.write_all(head.as_bytes()).await.ok()?;
        if !body.is_empty() {
            tokio::time::sleep(Duration::from_millis(50)).await;
            self.stream.write_all(body).await.ok()?;
        }
        self.read_answer().await
    }

    /// Reads one answer with a `Content-Length`; `None` when the server closed the connection.
    async fn read_answer(&mut self) -> Option<Answer> {
        let head_end = loop {
            if let Some(i) = self.buffered.windows(4).position(|w| w == b"\r\n\r\n") {
                break i;
            }
            self.fill().await?;
        };
        let head = String::from_utf8(self.buffered[..head_end].to_vec()).unwrap();
        self.buffered.drain(..head_end + 4);
        let mut lines = head.split("\r\n");
        let status = lines.next().unwrap().split(' ').nth(1).unwrap();
        let headers: Vec<(String, String)> = lines
            .map(|l| {
                let (n, v) = l.split_once(':').unwrap();
                (n.trim().to_owned(), v.trim().to_owned())
            })
            .collect();
        let mut answer = Answer {
            status: status.parse().unwrap(),
            headers,
            body: Vec::new(),
        };
        let length: usize = answer
            .header("content-length")
            .map_or(0, |v| v.parse().unwrap());
        while self.buffered.len() < length {
            self.fill().await?;
        }
        answer.body = self.buffered.drain(..length).collect();
        Some(answer)
    }

    async fn fill(&mut self) -> Option<()> {
        let mut chunk = [0_u8; 4096];
        let n = tokio::time::timeout(Duration::from_secs(10), self.stream.read(&mut chunk))
            .await
            .expect("the server answers within 10 s")
            .ok()?;
        (n > 0).then(|| self.buffered.extend_from_slice(&chunk[..n]))
    }
}

#[tokio::test]
async fn early_answers_leave_the_connection_usable() {
    let app = spawn_app().await;
    let body =
        br#"{"name":"kept","definition":"request.prompt contains \"x\"","category":"privacy"}"#;
    let token = Some(app.token.as_str());
    for (method, path, token, status) in [
        ("POST", "/api/policies", token, 307),
        ("POST", "/api/policies/", None, 401),
        ("POST", "/api/no-such-route", token, 404),
        ("POST", "/api/violations/", token, 405),
    ] {
        let mut conn = Connection::open(&app.addr).await;
        for round in 0..3 {
            let answer = conn
                .send(method, path, token, body)
                .await
                .unwrap_or_else(|| panic!("{method} {path}: no answer in round {round}"));
            assert_eq!(answer.status, status, "{method} {path}");
            assert_ne!(
                answer.header("connection"),
                Some("close"),
                "{method} {path}"
            );
            let next = conn
                .send("GET", "/health", None, b"")
                .await
                .unwrap_or_else(|| panic!("after {method} {path}: connection dropped"));
            assert_eq!(next.status, 200, "after {method} {path}");
            assert_eq!(next.body, br#"{"status":"healthy"}"#);
        }
    }
}

#[tokio::test]
async fn a_large_unread_body_closes_the_connection_properly() {
    let app = spawn_app().await;
    let mut conn = Connection::open(&app.addr).await;
    // Declares 512 KiB and sends a little more than the server drains, so nothing is left unread
    // in the socket when it closes (which would turn its close into a reset).
    let body = vec![b' '; sentinel_server::routes::DRAIN_LIMIT + 1024];
    let answer = conn
        .send_declaring(
            "POST",
            "/api/violations/",
            Some(&app.token),
            512 * 1024,
            &body,
        )
        .await
        .expect("an answer");
    assert_eq!(answer.status, 405);
    // The rest of the body is not worth reading: the server says it closes, then closes.
    assert_eq!(answer.header("connection"), Some("close"));
    assert!(conn.read_answer().await.is_none(), "the server closed");
}
