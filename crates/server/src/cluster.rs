//! Several nodes on one PostgreSQL: live messages and policy changes cross nodes through
//! `LISTEN`/`NOTIFY`.
//!
//! Every frame a node publishes locally is also sent, in order, by one relay task: the frames
//! waiting at that moment are packed into as few notifications as fit, each
//! `<node id>\n<frame>\n<frame>...` (a JSON frame never contains a raw line break). Each node listens on the channel of its database and schema,
//! skips its own notifications, hands the others' frames to its local clients, and reloads its
//! enforced policies when a `policy_changed` frame arrives. SQLite has a single node: nothing
//! starts.

use std::sync::Arc;
use std::time::Duration;

use sentinel_store::notify::MAX_PAYLOAD;
use tokio::sync::mpsc;

use crate::state::AppState;
use crate::tasks::Tasks;

/// Starts the relay and the listener in `tasks` when the store is PostgreSQL. The listener is
/// listening when this returns. Both end when `tasks` are stopped, the listener giving its
/// connection back so the pool can close.
pub async fn start(state: &AppState, tasks: &mut Tasks) -> sentinel_store::Result<()> {
    let Some(channel) = state.store.live_channel().await? else {
        return Ok(());
    };
    let Some(mut listener) = state.store.listen(&channel).await? else {
        return Ok(());
    };
    let node = crate::auth::random_token(9).unwrap_or_else(|_| "node".into());
    let (tx, mut rx) = mpsc::unbounded_channel::<Arc<str>>();
    state.live.relay_to(tx);

    let store = state.store.clone();
    let (relay_node, relay_channel) = (node.clone(), channel.clone());
    tasks.spawn("cluster relay", |mut stop| async move {
        let mut frames = Vec::new();
        loop {
            let received = tokio::select! {
                // Frames already queued go out before stopping.
                biased;
                n = rx.recv_many(&mut frames, 256) => n,
                () = stop.requested() => break,
            };
            if received == 0 {
                break;
            }
            for payload in pack(&relay_node, &frames) {
                if let Err(e) = store.notify(&relay_channel, &payload).await {
                    tracing::warn!(error = %e, "could not relay live frames to the other nodes");
                }
            }
            frames.clear();
        }
    });

    let state = state.clone();
    tasks.spawn("cluster listener", |mut stop| async move {
        loop {
            let received = tokio::select! {
                received = listener.recv() => received,
                () = stop.requested() => break,
            };
            let payload = match received {
                Ok(p) => p,
                Err(e) => {
                    tracing::warn!(error = %e, "lost the cluster listener; retrying");
                    tokio::select! {
                        () = tokio::time::sleep(Duration::from_secs(1)) => continue,
                        () = stop.requested() => break,
                    }
                }
            };
            let Some((from, frames)) = payload.split_once('\n') else {
                continue;
            };
            if from == node {
                continue;
            }
            let frames: Vec<_> = frames
                .split('\n')
                .filter_map(crate::live::LiveFrame::parse)
                .collect();
            if frames.iter().any(|f| f.kind == "policy_changed") {
                match state.store.all_policies().await {
                    Ok(policies) => state.guard.reload(&policies),
                    Err(e) => {
                        tracing::error!(error = %e, "could not reload policies changed on another node")
                    }
                }
            }
            for frame in frames {
                state.live.publish_local(frame);
            }
        }
    });
    tracing::info!(%channel, "cluster: live messages and policy changes are shared through PostgreSQL");
    Ok(())
}

/// Packs `frames` in order into notification payloads of at most [`MAX_PAYLOAD`] bytes, each
/// starting with the sender's `node` id. A frame too large for any payload is left out (and
/// logged): it still reaches this node's own clients.
fn pack(node: &str, frames: &[Arc<str>]) -> Vec<String> {
    let mut payloads = Vec::new();
    let mut current = String::new();
    for frame in frames {
        if node.len() + 1 + frame.len() > MAX_PAYLOAD {
            tracing::warn!(
                bytes = frame.len(),
                "live frame too large to cross nodes; sent locally only"
            );
            continue;
        }
        if !current.is_empty() && current.len() + 1 + frame.len() > MAX_PAYLOAD {
            payloads.push(std::mem::take(&mut current));
        }
        if current.is_empty() {
            current.push_str(node);
        }
        current.push('\n');
        current.push_str(frame);
    }
    if !current.is_empty() {
        payloads.push(current);
    }
    payloads
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_are_packed_in_order_into_payloads_that_fit() {
        let small: Vec<Arc<str>> = (0..100)
            .map(|i| {
                Arc::from(format!(
                    r#"{{"type":"new_event","n":{i},"pad":"{}"}}"#,
                    "x".repeat(200)
                ))
            })
            .collect();
        let mut frames = small.clone();
        frames.insert(50, Arc::from("y".repeat(MAX_PAYLOAD)));
        let payloads = pack("node1", &frames);
        assert!(
            payloads.len() > 1,
            "100 frames of ~230 bytes need several payloads"
        );
        let mut unpacked = Vec::new();
        for payload in &payloads {
            assert!(payload.len() <= MAX_PAYLOAD, "{} bytes", payload.len());
            let (from, rest) = payload.split_once('\n').unwrap();
            assert_eq!(from, "node1");
            unpacked.extend(rest.split('\n').map(Arc::<str>::from));
        }
        assert_eq!(
            unpacked, small,
            "every frame but the oversized one, in order"
        );
        assert!(pack("node1", &[]).is_empty());
    }
}
