//! Group commit for sends. Every send — REST or WebSocket — is queued to a writer task that
//! takes whatever is waiting (up to `max_batch`) and stores it in one transaction
//! (`messages::insert_batch`), then answers each sender. Under light load a batch is one
//! message and costs what a lone insert costs; under heavy load one commit carries many
//! messages, which is how sends/s can pass the database's one-commit-per-message ceiling.
//! The answer (ack) is only sent after the commit. When a whole batch cannot be stored at once
//! (a copy of one of its sends committed on another replica, a room deleted under it), each
//! send is stored as a batch of its own: there is one insert path.
//!
//! With several writers, each room belongs to one of them (`room_id % writers`): writers never
//! wait on each other's room locks, and a room's seqs follow the order its sends were queued.

use sqlx::AnyPool;
use tokio::sync::{mpsc, oneshot};

use crate::store::messages::{self, BatchError, InsertError, NewMessage, Stored};

type Job = (
    NewMessage,
    oneshot::Sender<Result<Stored, InsertError>>,
    std::time::Instant,
);

#[derive(Clone)]
pub struct SendBatcher {
    queues: std::sync::Arc<[mpsc::Sender<Job>]>,
}

/// Sends waiting for one writer beyond this make senders wait to enqueue (back-pressure, not
/// memory growth).
const QUEUE: usize = 4096;

impl SendBatcher {
    /// Starts `writers` writer tasks, each with its own queue and share of the rooms.
    pub fn start(pool: AnyPool, writers: usize, max_batch: usize) -> Self {
        let queues: Vec<mpsc::Sender<Job>> = (0..writers.max(1))
            .map(|_| {
                let (queue, rx) = mpsc::channel::<Job>(QUEUE);
                tokio::spawn(writer(pool.clone(), rx, max_batch.max(1)));
                queue
            })
            .collect();
        Self {
            queues: queues.into(),
        }
    }

    /// Stores one message (or finds the original of a retried send), after commit.
    pub async fn insert(&self, message: NewMessage) -> Result<Stored, InsertError> {
        let answer = self.enqueue(message).await?;
        answer.await.map_err(|_| dropped())?
    }

    /// Stores several messages: all are queued before any is waited for, so they share
    /// commits, and a room's seqs follow the order given. One answer each, in order.
    pub async fn insert_many(&self, messages: Vec<NewMessage>) -> Vec<Result<Stored, InsertError>> {
        let mut answers = Vec::with_capacity(messages.len());
        for message in messages {
            answers.push(self.enqueue(message).await);
        }
        futures_util::future::join_all(answers.into_iter().map(|queued| async move {
            match queued {
                Ok(answer) => answer.await.map_err(|_| dropped())?,
                Err(err) => Err(err),
            }
        }))
        .await
    }

    async fn enqueue(
        &self,
        message: NewMessage,
    ) -> Result<oneshot::Receiver<Result<Stored, InsertError>>, InsertError> {
        let (reply, answer) = oneshot::channel();
        let writer = message.room_id.rem_euclid(self.queues.len() as i64) as usize;
        self.queues[writer]
            .send((message, reply, std::time::Instant::now()))
            .await
            .map_err(|_| InsertError::Unexpected(anyhow::anyhow!("the send writer has stopped")))?;
        Ok(answer)
    }
}

fn dropped() -> InsertError {
    InsertError::Unexpected(anyhow::anyhow!("the send writer dropped a send"))
}

async fn writer(pool: AnyPool, mut rx: mpsc::Receiver<Job>, max_batch: usize) {
    let mut jobs: Vec<Job> = Vec::with_capacity(max_batch);
    // This writer's own connection, kept between batches (taken again after a failure).
    let mut conn: Option<sqlx::pool::PoolConnection<sqlx::Any>> = None;
    loop {
        if rx.recv_many(&mut jobs, max_batch).await == 0 {
            return;
        }
        let started = std::time::Instant::now();
        for (_, _, queued) in &jobs {
            metrics::histogram!("chat_send_queue_seconds")
                .record(started.duration_since(*queued).as_secs_f64());
        }
        let batch: Vec<NewMessage> = jobs.iter().map(|(m, _, _)| m.clone()).collect();
        metrics::histogram!("chat_send_batch_size").record(batch.len() as f64);
        let outcome = match conn.as_mut() {
            Some(c) => Ok(c),
            None => pool.acquire().await.map(|c| conn.insert(c)),
        };
        let outcome = match outcome {
            Ok(c) => messages::insert_batch(c, &batch).await,
            Err(e) => Err(BatchError::Unexpected(
                anyhow::Error::new(e).context("taking a connection for a batch"),
            )),
        };
        if matches!(outcome, Err(BatchError::Unexpected(_))) {
            // The connection may be what failed: a fresh one for the next batch.
            conn = None;
        }
        metrics::histogram!("chat_send_commit_seconds").record(started.elapsed().as_secs_f64());
        match outcome {
            Ok(answers) => {
                for ((_, reply, _), answer) in jobs.drain(..).zip(answers) {
                    let _ = reply.send(answer);
                }
            }
            Err(err) => {
                if let BatchError::Unexpected(e) = &err {
                    tracing::warn!(error = %format!("{e:#}"), size = batch.len(), "batched send failed; storing one by one");
                }
                // One at a time: each send gets its own outcome (a duplicate committed by
                // another replica, a deleted room, or the error itself).
                for (m, reply, _) in jobs.drain(..) {
                    let _ = reply.send(insert_alone(&pool, &m).await);
                }
            }
        }
    }
}

/// Stores one send as a batch of its own (the one send path). A collision means a copy of it
/// committed meanwhile, on another replica: the second try finds that original.
async fn insert_alone(pool: &AnyPool, message: &NewMessage) -> Result<Stored, InsertError> {
    let mut conn = pool
        .acquire()
        .await
        .map_err(|e| anyhow::Error::new(e).context("taking a connection for a send"))?;
    for _ in 0..2 {
        match messages::insert_batch(&mut conn, std::slice::from_ref(message)).await {
            Ok(mut answers) => {
                return answers.pop().unwrap_or_else(|| {
                    Err(InsertError::Unexpected(anyhow::anyhow!(
                        "a send stored alone got no answer"
                    )))
                });
            }
            Err(BatchError::Conflict) => continue,
            Err(BatchError::Unexpected(e)) => return Err(InsertError::Unexpected(e)),
        }
    }
    Err(InsertError::Unexpected(anyhow::anyhow!(
        "a send kept colliding with a stored message"
    )))
}
