//! Group commit for sends. Every send — REST or WebSocket — is queued to a writer task that
//! takes whatever is waiting (up to `max_batch`) and stores it in one transaction
//! (`messages::insert_batch`), then answers each sender. Under light load a batch is one
//! message and costs what a lone insert costs; under heavy load one commit carries many
//! messages, which is how sends/s can pass the database's one-commit-per-message ceiling.
//! The answer (ack) is only sent after the commit, and seqs within a room follow queue order.

use sqlx::AnyPool;
use tokio::sync::{mpsc, oneshot};

use crate::store::messages::{self, BatchError, InsertError, NewMessage, Stored};

type Job = (NewMessage, oneshot::Sender<Result<Stored, InsertError>>);

#[derive(Clone)]
pub struct SendBatcher {
    queue: mpsc::Sender<Job>,
}

/// Sends waiting beyond this make senders wait to enqueue (back-pressure, not memory growth).
const QUEUE: usize = 4096;

impl SendBatcher {
    /// Starts `writers` writer tasks sharing one queue.
    pub fn start(pool: AnyPool, writers: usize, max_batch: usize) -> Self {
        let (queue, rx) = mpsc::channel::<Job>(QUEUE);
        let rx = std::sync::Arc::new(tokio::sync::Mutex::new(rx));
        for _ in 0..writers.max(1) {
            tokio::spawn(writer(pool.clone(), rx.clone(), max_batch.max(1)));
        }
        Self { queue }
    }

    /// Stores one message (or finds the original of a retried send), after commit.
    pub async fn insert(&self, message: NewMessage) -> Result<Stored, InsertError> {
        let (reply, answer) = oneshot::channel();
        self.queue
            .send((message, reply))
            .await
            .map_err(|_| InsertError::Unexpected(anyhow::anyhow!("the send writer has stopped")))?;
        answer.await.map_err(|_| {
            InsertError::Unexpected(anyhow::anyhow!("the send writer dropped a send"))
        })?
    }
}

async fn writer(
    pool: AnyPool,
    rx: std::sync::Arc<tokio::sync::Mutex<mpsc::Receiver<Job>>>,
    max_batch: usize,
) {
    let mut jobs: Vec<Job> = Vec::with_capacity(max_batch);
    loop {
        {
            // One writer collects at a time; the others commit meanwhile.
            let mut rx = rx.lock().await;
            if rx.recv_many(&mut jobs, max_batch).await == 0 {
                return;
            }
        }
        let batch: Vec<NewMessage> = jobs.iter().map(|(m, _)| m.clone()).collect();
        metrics::histogram!("chat_send_batch_size").record(batch.len() as f64);
        match messages::insert_batch(&pool, &batch).await {
            Ok(answers) => {
                for ((_, reply), answer) in jobs.drain(..).zip(answers) {
                    let _ = reply.send(answer);
                }
            }
            Err(err) => {
                if let BatchError::Unexpected(e) = &err {
                    tracing::warn!(error = %format!("{e:#}"), size = batch.len(), "batched send failed; storing one by one");
                }
                // One at a time: each send gets its own outcome (a duplicate committed by
                // another replica, a deleted room, or the error itself).
                for (m, reply) in jobs.drain(..) {
                    let answer = messages::insert(
                        &pool,
                        m.room_id,
                        m.user_id,
                        &m.username,
                        &m.content,
                        m.client_msg_id.as_ref(),
                        m.now,
                    )
                    .await;
                    let _ = reply.send(answer);
                }
            }
        }
    }
}
