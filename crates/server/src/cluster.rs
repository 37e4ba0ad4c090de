//! Several nodes on one PostgreSQL: live messages and policy changes cross nodes through
//! `LISTEN`/`NOTIFY`.
//!
//! Every frame a node publishes locally is also sent, in order, by one relay task as a
//! notification `<node id>\n<frame>`. Each node listens on the channel of its database and schema,
//! skips its own notifications, hands the others' frames to its local clients, and reloads its
//! enforced policies when a `policy_changed` frame arrives. SQLite has a single node: nothing
//! starts.

use std::sync::Arc;
use std::time::Duration;

use sentinel_store::notify::MAX_PAYLOAD;
use tokio::sync::mpsc;

use crate::state::AppState;

/// Starts the relay and the listener when the store is PostgreSQL. The listener is listening
/// when this returns.
pub async fn start(state: &AppState) -> sentinel_store::Result<()> {
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
    tokio::spawn(async move {
        while let Some(frame) = rx.recv().await {
            let payload = format!("{relay_node}\n{frame}");
            if payload.len() > MAX_PAYLOAD {
                tracing::warn!(
                    bytes = payload.len(),
                    "live frame too large to cross nodes; sent locally only"
                );
                continue;
            }
            if let Err(e) = store.notify(&relay_channel, &payload).await {
                tracing::warn!(error = %e, "could not relay a live frame to the other nodes");
            }
        }
    });

    let state = state.clone();
    tokio::spawn(async move {
        loop {
            let payload = match listener.recv().await {
                Ok(p) => p,
                Err(e) => {
                    tracing::warn!(error = %e, "lost the cluster listener; retrying");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
            };
            let Some((from, frame)) = payload.split_once('\n') else {
                continue;
            };
            if from == node {
                continue;
            }
            let Some(frame) = crate::live::LiveFrame::parse(Arc::from(frame)) else {
                continue;
            };
            if frame.kind == "policy_changed" {
                match state.store.all_policies().await {
                    Ok(policies) => state.guard.reload(&policies),
                    Err(e) => {
                        tracing::error!(error = %e, "could not reload policies changed on another node")
                    }
                }
            }
            state.live.publish_local(frame);
        }
    });
    tracing::info!(%channel, "cluster: live messages and policy changes are shared through PostgreSQL");
    Ok(())
}
