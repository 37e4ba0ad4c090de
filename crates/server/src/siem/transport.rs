//! Where a sink's records go: RFC 5424 syslog over UDP, TCP or TLS (octet-counted, RFC 6587),
//! Splunk's HTTP Event Collector, or a local file rotated by size.
//!
//! A transport takes a batch and either delivers all of it or fails; the caller moves the
//! sink's cursor only after a success, and retries a failure. A stream connection is kept
//! between batches and reopened after any error (or when the other side closed it).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::{CertificateDer, ServerName, pem::PemObject};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpStream, UdpSocket};
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

use crate::settings::{Secret, SinkSettings, SinkTransport, SyslogProtocol, split_host_port};
use crate::siem::format::Record;

/// The syslog facility of every record: local0 (16).
const FACILITY: u8 = 16;

/// A UDP datagram is cut to this many bytes (RFC 5426 allows up to 65,507 over IPv4).
const UDP_MAX: usize = 65_000;

/// Why a batch was not delivered; it is retried.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("timed out after {0} s")]
    Timeout(f64),
    #[error("{0}")]
    Http(String),
}

/// A sink's transport, built once at start-up (so a bad CA file or a missing token is an
/// error at boot, not at the first send).
pub enum Transport {
    Syslog(Syslog),
    Splunk(Splunk),
    File(RotatingFile),
}

/// Why a sink cannot start.
pub fn build(sink: &SinkSettings, timeout: Duration) -> Result<Transport, String> {
    let name = &sink.name;
    Ok(match &sink.transport {
        SinkTransport::Syslog {
            protocol,
            address,
            ca_file,
            server_name,
        } => {
            let (host, _) = split_host_port(address)
                .ok_or_else(|| format!("sink `{name}`: address `{address}` is not HOST:PORT"))?;
            let tls = match protocol {
                SyslogProtocol::Tls => {
                    let config = tls_config(ca_file.as_deref())
                        .map_err(|e| format!("sink `{name}`: {e}"))?;
                    let server = server_name.clone().unwrap_or(host);
                    let server = ServerName::try_from(server.clone()).map_err(|_| {
                        format!("sink `{name}`: `{server}` is not a valid TLS server name")
                    })?;
                    Some((TlsConnector::from(Arc::new(config)), server))
                }
                _ => None,
            };
            Transport::Syslog(Syslog {
                protocol: *protocol,
                address: address.clone(),
                tls,
                timeout,
                hostname: hostname(),
                conn: None,
            })
        }
        SinkTransport::Splunk {
            url,
            token_env,
            index,
            sourcetype,
        } => {
            let token = std::env::var(token_env)
                .ok()
                .filter(|t| !t.trim().is_empty())
                .ok_or_else(|| {
                    format!(
                        "sink `{name}`: the environment variable {token_env} (token_env) is not set"
                    )
                })?;
            let client = reqwest::Client::builder()
                .connect_timeout(timeout)
                .timeout(timeout)
                .redirect(reqwest::redirect::Policy::none())
                .user_agent(concat!("Sentinel-SIEM/", env!("CARGO_PKG_VERSION")))
                .build()
                .map_err(|e| format!("sink `{name}`: building the HTTP client: {e}"))?;
            Transport::Splunk(Splunk {
                endpoint: format!("{}/services/collector/event", url.trim_end_matches('/')),
                token: Secret::new(token),
                index: index.clone(),
                sourcetype: sourcetype.clone(),
                host: hostname(),
                client,
                timeout,
            })
        }
        SinkTransport::File {
            path,
            max_bytes,
            keep_files,
        } => {
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir)
                    .map_err(|e| format!("sink `{name}`: creating {}: {e}", dir.display()))?;
            }
            Transport::File(RotatingFile {
                path: path.clone(),
                max_bytes: *max_bytes,
                keep: *keep_files,
            })
        }
    })
}

impl Transport {
    /// Delivers every record, in order, or fails.
    pub async fn send(&mut self, records: &[Record]) -> Result<(), SendError> {
        match self {
            Transport::Syslog(s) => s.send(records).await,
            Transport::Splunk(s) => s.send(records).await,
            Transport::File(f) => f.send(records).await,
        }
    }
}

pub(crate) fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty() && h.is_ascii() && !h.contains(' '))
        .unwrap_or_else(|| "-".to_owned())
}

/// The TLS client configuration: the CAs of `ca_file`, or the system's.
fn tls_config(ca_file: Option<&Path>) -> Result<rustls::ClientConfig, String> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut roots = rustls::RootCertStore::empty();
    match ca_file {
        Some(path) => {
            let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
                .map_err(|e| format!("ca_file {}: {e}", path.display()))?
                .collect::<Result<_, _>>()
                .map_err(|e| format!("ca_file {}: {e}", path.display()))?;
            if certs.is_empty() {
                return Err(format!("ca_file {} holds no certificate", path.display()));
            }
            for cert in certs {
                roots
                    .add(cert)
                    .map_err(|e| format!("ca_file {}: {e}", path.display()))?;
            }
        }
        None => {
            let found = rustls_native_certs::load_native_certs();
            for cert in found.certs {
                let _ = roots.add(cert);
            }
            if roots.is_empty() {
                return Err("no system CA certificates found: set ca_file".into());
            }
        }
    }
    Ok(rustls::ClientConfig::builder()
        .with_root_certificates(roots)
        .with_no_client_auth())
}

/// `<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID - MSG` (RFC 5424, no structured data).
pub fn syslog_line(record: &Record, hostname: &str) -> String {
    let pri = u16::from(FACILITY) * 8 + u16::from(record.syslog_severity);
    let msg_id: String = record
        .msg_id
        .chars()
        .filter(|c| c.is_ascii_graphic())
        .take(32)
        .collect();
    format!(
        "<{pri}>1 {} {} sentinel {} {} - {}",
        record
            .time
            .to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        hostname,
        std::process::id(),
        if msg_id.is_empty() {
            "-".into()
        } else {
            msg_id
        },
        record.text
    )
}

enum Conn {
    Tcp(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
    Udp(UdpSocket),
}

impl Conn {
    /// Whether the other side closed (or wrote to) a stream we only ever write to: then it is
    /// reopened before the next write, which would otherwise vanish into a dead socket.
    fn closed(&self) -> bool {
        let tcp = match self {
            Conn::Tcp(s) => s,
            Conn::Tls(s) => s.get_ref().0,
            Conn::Udp(_) => return false,
        };
        let mut probe = [0u8; 1];
        !matches!(tcp.try_read(&mut probe), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock)
    }
}

/// RFC 5424 syslog over UDP, TCP or TLS.
pub struct Syslog {
    protocol: SyslogProtocol,
    address: String,
    tls: Option<(TlsConnector, ServerName<'static>)>,
    timeout: Duration,
    hostname: String,
    conn: Option<Conn>,
}

impl Syslog {
    async fn connect(&self) -> Result<Conn, SendError> {
        Ok(match self.protocol {
            SyslogProtocol::Udp => {
                let target = tokio::net::lookup_host(&self.address)
                    .await?
                    .next()
                    .ok_or_else(|| std::io::Error::other("the address resolves to nothing"))?;
                let local = if target.is_ipv4() {
                    "0.0.0.0:0"
                } else {
                    "[::]:0"
                };
                let socket = UdpSocket::bind(local).await?;
                socket.connect(target).await?;
                Conn::Udp(socket)
            }
            SyslogProtocol::Tcp => {
                let stream = TcpStream::connect(&self.address).await?;
                stream.set_nodelay(true)?;
                Conn::Tcp(stream)
            }
            SyslogProtocol::Tls => {
                let (connector, name) = self
                    .tls
                    .as_ref()
                    .ok_or_else(|| std::io::Error::other("no TLS configuration"))?;
                let stream = TcpStream::connect(&self.address).await?;
                stream.set_nodelay(true)?;
                Conn::Tls(Box::new(connector.connect(name.clone(), stream).await?))
            }
        })
    }

    async fn send(&mut self, records: &[Record]) -> Result<(), SendError> {
        let seconds = self.timeout.as_secs_f64();
        let result = tokio::time::timeout(self.timeout, self.send_inner(records)).await;
        let result = result.unwrap_or(Err(SendError::Timeout(seconds)));
        if result.is_err() {
            self.conn = None;
        }
        result
    }

    async fn send_inner(&mut self, records: &[Record]) -> Result<(), SendError> {
        if self.conn.as_ref().is_some_and(Conn::closed) {
            self.conn = None;
        }
        if self.conn.is_none() {
            self.conn = Some(self.connect().await?);
        }
        let Some(conn) = self.conn.as_mut() else {
            return Err(std::io::Error::other("not connected").into());
        };
        match conn {
            Conn::Udp(socket) => {
                for record in records {
                    let line = syslog_line(record, &self.hostname);
                    let mut bytes = line.as_bytes();
                    if bytes.len() > UDP_MAX {
                        let mut cut = UDP_MAX;
                        while !line.is_char_boundary(cut) {
                            cut -= 1;
                        }
                        bytes = &bytes[..cut];
                    }
                    socket.send(bytes).await?;
                }
            }
            Conn::Tcp(_) | Conn::Tls(_) => {
                // Octet counting (RFC 6587 §3.4.1): `LEN SP MSG`, one write per batch.
                let mut frames = Vec::new();
                for record in records {
                    let line = syslog_line(record, &self.hostname);
                    frames.extend_from_slice(format!("{} ", line.len()).as_bytes());
                    frames.extend_from_slice(line.as_bytes());
                }
                match conn {
                    Conn::Tcp(s) => {
                        s.write_all(&frames).await?;
                        s.flush().await?;
                    }
                    Conn::Tls(s) => {
                        s.write_all(&frames).await?;
                        s.flush().await?;
                    }
                    Conn::Udp(_) => {}
                }
            }
        }
        Ok(())
    }
}

/// Splunk HTTP Event Collector: one POST per batch, the events concatenated.
pub struct Splunk {
    endpoint: String,
    token: Secret,
    index: Option<String>,
    sourcetype: Option<String>,
    host: String,
    client: reqwest::Client,
    timeout: Duration,
}

impl Splunk {
    async fn send(&mut self, records: &[Record]) -> Result<(), SendError> {
        let mut body = String::new();
        for record in records {
            // JSON records go in as objects, CEF as a string.
            let event = serde_json::from_str::<serde_json::Value>(&record.text)
                .ok()
                .filter(serde_json::Value::is_object)
                .unwrap_or_else(|| serde_json::Value::String(record.text.clone()));
            let mut envelope = serde_json::json!({
                "time": record.time.timestamp_millis() as f64 / 1000.0,
                "host": self.host,
                "source": "sentinel",
                "event": event,
            });
            if let Some(index) = &self.index {
                envelope["index"] = index.clone().into();
            }
            envelope["sourcetype"] = self
                .sourcetype
                .clone()
                .unwrap_or_else(|| format!("sentinel:{}", record.msg_id))
                .into();
            body.push_str(&envelope.to_string());
            body.push('\n');
        }
        let res = self
            .client
            .post(&self.endpoint)
            .header(
                reqwest::header::AUTHORIZATION,
                format!("Splunk {}", self.token.expose()),
            )
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body)
            .send()
            .await
            .map_err(|e| {
                if e.is_timeout() {
                    SendError::Timeout(self.timeout.as_secs_f64())
                } else {
                    // Without the URL's query and without the token (never in the URL anyway).
                    SendError::Http(crate::siem::describe(&e.without_url()))
                }
            })?;
        let status = res.status();
        if status.is_success() {
            return Ok(());
        }
        let text = res.text().await.unwrap_or_default();
        let excerpt: String = text.chars().take(200).collect();
        Err(SendError::Http(format!(
            "answered HTTP {status}: {excerpt}"
        )))
    }
}

/// Lines appended to `path`; past `max_bytes` the file becomes `path.1` (and `path.1` becomes
/// `path.2`, …, up to `keep` files).
pub struct RotatingFile {
    path: PathBuf,
    max_bytes: u64,
    keep: usize,
}

impl RotatingFile {
    async fn send(&mut self, records: &[Record]) -> Result<(), SendError> {
        let lines: Vec<String> = records.iter().map(|r| r.text.clone()).collect();
        let (path, max, keep) = (self.path.clone(), self.max_bytes, self.keep);
        tokio::task::spawn_blocking(move || append(&path, max, keep, &lines))
            .await
            .map_err(|e| std::io::Error::other(e.to_string()))??;
        Ok(())
    }
}

/// The `n`th rotated file: `path.n`.
pub fn rotated(path: &Path, n: usize) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(format!(".{n}"));
    PathBuf::from(name)
}

fn rotate(path: &Path, keep: usize) -> std::io::Result<()> {
    if keep == 0 {
        return std::fs::remove_file(path);
    }
    let _ = std::fs::remove_file(rotated(path, keep));
    for n in (1..keep).rev() {
        let from = rotated(path, n);
        if from.exists() {
            std::fs::rename(&from, rotated(path, n + 1))?;
        }
    }
    std::fs::rename(path, rotated(path, 1))
}

fn append(path: &Path, max: u64, keep: usize, lines: &[String]) -> std::io::Result<()> {
    let open = || {
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
    };
    let mut file = open()?;
    let mut size = file.metadata()?.len();
    let mut buffer = Vec::new();
    for line in lines {
        let len = line.len() as u64 + 1;
        let used = size + buffer.len() as u64;
        if used > 0 && used + len > max {
            file.write_all(&buffer)?;
            file.sync_data()?;
            buffer.clear();
            drop(file);
            rotate(path, keep)?;
            file = open()?;
            size = 0;
        }
        buffer.extend_from_slice(line.as_bytes());
        buffer.push(b'\n');
    }
    file.write_all(&buffer)?;
    file.sync_data()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(text: &str) -> Record {
        Record {
            syslog_severity: 3,
            msg_id: "new_violation".into(),
            time: chrono::DateTime::parse_from_rfc3339("2026-12-05T01:02:03.456Z")
                .unwrap()
                .with_timezone(&chrono::Utc),
            text: text.into(),
        }
    }

    #[test]
    fn a_syslog_line_has_the_rfc_5424_header() {
        let line = syslog_line(&record("{\"a\":1}"), "host1");
        let pid = std::process::id();
        // local0 (16) * 8 + error (3) = 131.
        assert_eq!(
            line,
            format!(
                "<131>1 2026-12-05T01:02:03.456000Z host1 sentinel {pid} new_violation - {{\"a\":1}}"
            )
        );
    }

    #[test]
    fn a_file_rotates_by_size_and_keeps_n_files_losing_no_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("siem.log");
        let lines: Vec<String> = (0..100)
            .map(|i| format!("line {i:03} {}", "x".repeat(40)))
            .collect();
        for chunk in lines.chunks(7) {
            append(&path, 1024, 20, chunk).unwrap();
        }
        let mut files = vec![path.clone()];
        files.extend((1..=20).map(|n| rotated(&path, n)).filter(|p| p.exists()));
        assert!(files.len() > 3, "{files:?}");
        let mut seen = Vec::new();
        for file in files.iter().rev() {
            let text = std::fs::read_to_string(file).unwrap();
            assert!(
                text.len() as u64 <= 1024,
                "{} is {} bytes",
                file.display(),
                text.len()
            );
            seen.extend(text.lines().map(str::to_owned));
        }
        assert_eq!(seen, lines);
        // keep = 2: only two rotated files remain.
        let small = dir.path().join("small.log");
        for chunk in lines.chunks(7) {
            append(&small, 1024, 2, chunk).unwrap();
        }
        assert!(rotated(&small, 2).exists() && !rotated(&small, 3).exists());
    }
}
