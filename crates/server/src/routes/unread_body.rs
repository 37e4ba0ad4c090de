//! Keep-alive hygiene for answers sent without reading the request body.
//!
//! A 307 slash redirect, a 401, a 404 for an unknown route, a 405 or a 413 is decided before the
//! body is read, and the handler drops it. Left alone, hyper then drains only what already sits in
//! its buffer and otherwise stops reading and closes the connection after the answer, without a
//! `Connection: close` header. A client that pools connections has by then sent its next request
//! on that connection and sees it dropped ("server disconnected without sending a response").
//!
//! This layer wraps the request body so that a body dropped unread comes back to it. After the
//! inner service has answered, it reads and discards what is left, up to [`DRAIN_LIMIT`] bytes
//! within [`DRAIN_TIMEOUT`], so the connection stays usable; a larger or slower body gets
//! `Connection: close` on the answer instead, so the client knows not to reuse the connection.

use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;
use bytes::Bytes;
use hyper::body::{Body as HttpBody, Frame, SizeHint};

/// The most a dropped body is drained by before the connection is closed instead.
pub const DRAIN_LIMIT: usize = 64 * 1024;

/// How long draining may hold the answer back before the connection is closed instead.
pub const DRAIN_TIMEOUT: Duration = Duration::from_secs(1);

/// Where a body dropped before its end is handed back to [`drain_unread_body`].
type Slot = Arc<Mutex<Option<Body>>>;

/// The request body, handing itself back to its [`Slot`] when dropped before its end.
struct Tracked {
    inner: Option<Body>,
    slot: Slot,
}

impl HttpBody for Tracked {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        match self.inner.as_mut() {
            Some(inner) => Pin::new(inner).poll_frame(cx),
            None => Poll::Ready(None),
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.as_ref().is_none_or(HttpBody::is_end_stream)
    }

    fn size_hint(&self) -> SizeHint {
        self.inner
            .as_ref()
            .map_or_else(|| SizeHint::with_exact(0), HttpBody::size_hint)
    }
}

impl Drop for Tracked {
    fn drop(&mut self) {
        if let Some(inner) = self.inner.take()
            && !inner.is_end_stream()
        {
            *self.slot.lock().unwrap_or_else(PoisonError::into_inner) = Some(inner);
        }
    }
}

/// The middleware: see the module documentation.
pub async fn drain_unread_body(req: Request, next: Next) -> Response {
    let (parts, body) = req.into_parts();
    if body.is_end_stream() {
        // No body (most GETs): nothing can be left unread.
        return next.run(Request::from_parts(parts, body)).await;
    }
    let slot = Slot::default();
    let tracked = Tracked {
        inner: Some(body),
        slot: slot.clone(),
    };
    let mut response = next
        .run(Request::from_parts(parts, Body::new(tracked)))
        .await;
    let unread = slot.lock().unwrap_or_else(PoisonError::into_inner).take();
    if let Some(unread) = unread {
        let drained =
            tokio::time::timeout(DRAIN_TIMEOUT, axum::body::to_bytes(unread, DRAIN_LIMIT))
                .await
                .is_ok_and(|read| read.is_ok());
        if !drained {
            response
                .headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
    }
    response
}
