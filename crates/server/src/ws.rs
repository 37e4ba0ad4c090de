//! The WebSocket transport of the live stream: the opening handshake, and a connection that
//! writes frames encoded once for every client (see `live.rs`).
//!
//! axum's `WebSocketUpgrade` hides the socket behind a per-message `Sink`, which would make every
//! client encode and copy every frame itself. This module performs the same RFC 6455 handshake
//! (with tungstenite's accept-key derivation), and runs tungstenite over the upgraded connection
//! for what clients send, while [`LiveSocket::send_encoded`] writes shared bytes directly.

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, Request, StatusCode, header};
use axum::response::Response;
use bytes::Bytes;
use futures::{SinkExt, Stream, StreamExt};
use hyper_util::rt::TokioIo;
use tokio::io::AsyncWriteExt;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

use crate::live::{Frame, LiveSocket};

/// Largest message a client may send: subscriptions are a few hundred bytes.
const MAX_CLIENT_MESSAGE: usize = 64 * 1024;

/// Checks that `headers` ask for a WebSocket (RFC 6455 §4.2.1) and returns the
/// `Sec-WebSocket-Accept` value; the error says what is missing.
pub fn accept_key(headers: &HeaderMap) -> Result<HeaderValue, &'static str> {
    let has_token = |name: header::HeaderName, token: &str| {
        headers.get_all(name).iter().any(|v| {
            v.to_str()
                .map(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case(token)))
                .unwrap_or(false)
        })
    };
    if !has_token(header::CONNECTION, "upgrade") {
        return Err("the Connection header does not include `upgrade`");
    }
    if !has_token(header::UPGRADE, "websocket") {
        return Err("the Upgrade header is not `websocket`");
    }
    if headers
        .get(header::SEC_WEBSOCKET_VERSION)
        .is_none_or(|v| v.as_bytes() != b"13")
    {
        return Err("the Sec-WebSocket-Version header is not 13");
    }
    let key = headers
        .get(header::SEC_WEBSOCKET_KEY)
        .ok_or("the Sec-WebSocket-Key header is missing")?;
    HeaderValue::from_str(&derive_accept_key(key.as_bytes()))
        .map_err(|_| "the Sec-WebSocket-Key header is invalid")
}

/// Answers an upgrade request with `101 Switching Protocols` and runs `session` on the
/// connection once the client has it. `Err` when the request is not a WebSocket upgrade.
pub fn upgrade<F, Fut>(mut req: Request<Body>, session: F) -> Result<Response, &'static str>
where
    F: FnOnce(WsConnection) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let accept = accept_key(req.headers())?;
    let on_upgrade = hyper::upgrade::on(&mut req);
    tokio::spawn(async move {
        let upgraded = match on_upgrade.await {
            Ok(upgraded) => upgraded,
            Err(e) => {
                tracing::debug!(error = %e, "WebSocket upgrade failed");
                return;
            }
        };
        let config = WebSocketConfig::default()
            // tungstenite zero-fills a read buffer of this size on every read attempt.
            .read_buffer_size(4096)
            .max_message_size(Some(MAX_CLIENT_MESSAGE))
            .max_frame_size(Some(MAX_CLIENT_MESSAGE));
        let ws =
            WebSocketStream::from_raw_socket(TokioIo::new(upgraded), Role::Server, Some(config))
                .await;
        session(WsConnection(ws)).await;
    });
    let mut res = Response::new(Body::empty());
    *res.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let headers = res.headers_mut();
    headers.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
    headers.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
    headers.insert(header::SEC_WEBSOCKET_ACCEPT, accept);
    Ok(res)
}

/// One client's WebSocket connection.
pub struct WsConnection(WebSocketStream<TokioIo<hyper::upgrade::Upgraded>>);

impl Stream for WsConnection {
    type Item = Result<Frame, WsError>;

    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        self.0.poll_next_unpin(cx).map(|next| {
            next.map(|msg| {
                msg.map(|m| match m {
                    Message::Text(text) => Frame::Text(text.as_str().to_owned()),
                    Message::Close(_) => Frame::Close,
                    _ => Frame::Other,
                })
            })
        })
    }
}

impl LiveSocket for WsConnection {
    type Error = WsError;

    async fn send_encoded(&mut self, chunks: &[Bytes]) -> Result<(), WsError> {
        // Whatever tungstenite holds (a pong, say) goes first, whole, so frames never interleave.
        self.0.flush().await?;
        let io = self.0.get_mut();
        for chunk in chunks {
            io.write_all(chunk).await?;
        }
        io.flush().await?;
        Ok(())
    }

    async fn close(&mut self) {
        let _ = self.0.close(None).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_accept_key_follows_rfc_6455() {
        let mut headers = HeaderMap::new();
        assert_eq!(
            accept_key(&headers),
            Err("the Connection header does not include `upgrade`")
        );
        headers.insert(
            header::CONNECTION,
            HeaderValue::from_static("keep-alive, Upgrade"),
        );
        headers.insert(header::UPGRADE, HeaderValue::from_static("WebSocket"));
        assert_eq!(
            accept_key(&headers),
            Err("the Sec-WebSocket-Version header is not 13")
        );
        headers.insert(
            header::SEC_WEBSOCKET_VERSION,
            HeaderValue::from_static("13"),
        );
        assert_eq!(
            accept_key(&headers),
            Err("the Sec-WebSocket-Key header is missing")
        );
        // The example of RFC 6455 §1.3.
        headers.insert(
            header::SEC_WEBSOCKET_KEY,
            HeaderValue::from_static("dGhlIHNhbXBsZSBub25jZQ=="),
        );
        assert_eq!(
            accept_key(&headers).unwrap(),
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
    }
}
