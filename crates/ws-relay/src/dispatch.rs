//! Actions on their way to chat-service, batched and bounded.
//!
//! Connections hand their actions to one [`Dispatcher`] per relay. Its task takes whatever is
//! waiting (up to `CHAT_BATCH_MAX` actions, about `CHAT_BATCH_MAX_BYTES` of request, and an
//! answer that fits `CHAT_BATCH_REPLY_MAX_BYTES` when each `sync` answer is at most
//! `CHAT_REPLY_MAX_BYTES`) and sends it as one `POST /internal/ws/actions`, with at
//! most `CHAT_MAX_IN_FLIGHT` such requests outstanding. While those are busy, new actions
//! gather in the queue, so the batches grow with the load: one request and, in chat-service,
//! one transaction carry many sends. Under light load a batch is one action and goes out at
//! once.
//!
//! The queue is bounded (`CHAT_QUEUE`): when it is full the action is refused at once with a
//! temporary `busy` error instead of waiting for a timeout, and an action whose deadline
//! passed while it waited is answered without being sent. So past saturation chat-service
//! keeps working at its peak on actions someone still waits for, instead of on a backlog the
//! clients gave up on.
//!
//! Order: a connection hands over one group of actions at a time and waits for it to be
//! answered before the next (see `socket::session`); a group is consecutive `sendMessage`s or
//! a single other action, and goes into one request whole, where chat-service queues its sends
//! in order. So a connection's messages keep their order, also when a client pipelines them.
//! The dispatcher writes each sender's answers (`ack`, reply or `error`) before it publishes
//! the batch's deliveries, so a sender sees its `ack` before its own `message`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytestring::ByteString;
use tokio::sync::{Semaphore, mpsc, oneshot};
use wire::{ActionBatch, ActionRequest, ActionResponse, ChatAction, Delivery, ErrorCode, FrameId};

use crate::chat_client::{ChatClient, ChatError};
use crate::protocol;
use crate::socket::connection::Connection;

/// How actions are batched; from `CHAT_BATCH_MAX`, `CHAT_BATCH_MAX_BYTES`,
/// `CHAT_BATCH_REPLY_MAX_BYTES`, `CHAT_REPLY_MAX_BYTES`, `CHAT_MAX_IN_FLIGHT`, `CHAT_QUEUE`.
#[derive(Debug, Clone)]
pub struct DispatchLimits {
    /// Most actions in one request.
    pub max_batch: usize,
    /// Most bytes in one request, as estimated by `Queued::weight`; a group larger than
    /// this goes alone.
    pub max_batch_bytes: usize,
    /// Largest answer read from chat-service (a whole batch answer); a larger one fails the
    /// call with a temporary error instead of being buffered. Batches are cut so that their
    /// answers should fit (see `Queued::reply_weight`).
    pub max_reply_bytes: usize,
    /// What one `sync` answer may weigh: chat-service's per-answer budget.
    pub sync_reply_bytes: usize,
    /// Most batch requests outstanding at once.
    pub max_in_flight: usize,
    /// Most connections waiting for a request (each has at most one group of actions queued);
    /// past it actions are refused with `busy`.
    pub queue: usize,
}

impl Default for DispatchLimits {
    fn default() -> Self {
        Self {
            max_batch: 128,
            max_batch_bytes: 4 * 1024 * 1024,
            max_reply_bytes: 16 * 1024 * 1024,
            sync_reply_bytes: 512 * 1024,
            max_in_flight: 4,
            queue: 4096,
        }
    }
}

/// Deliveries from a batch's answers, published once per batch.
pub(crate) type Publisher = Arc<dyn Fn(Vec<Delivery>) + Send + Sync>;

/// A client action on its way to chat-service, from the connection's queue to the batch:
/// what chat-service runs, and the client's frame `id` (echoed in the answer). The
/// connection's id and identity are added when the batch goes out.
pub(crate) struct Queued {
    pub action: ChatAction,
    pub id: Option<FrameId>,
    /// The client frame's length in bytes.
    pub size: usize,
    /// When the client stops waiting for the answer: the frame's arrival plus chat-service's
    /// timeout, so a queue behind a slow chat-service still answers every frame in time.
    pub deadline: Instant,
}

/// What the rest of a batched event adds to its body: action name, connection id and identity.
const EVENT_OVERHEAD: usize = 256;

impl Queued {
    /// Consecutive `sendMessage`s of a connection go to chat-service together.
    pub(crate) fn is_send(&self) -> bool {
        matches!(self.action, ChatAction::SendMessage(_))
    }

    /// Whether so little time is left that the answer could not come back in time.
    pub(crate) fn is_late(&self) -> bool {
        self.deadline.saturating_duration_since(Instant::now()) < TOO_LATE
    }

    /// The bytes this action adds to a batch request, about.
    fn weight(&self) -> usize {
        self.size + EVENT_OVERHEAD
    }

    /// The most its answer should add to the batch answer: a `sync` page is bounded by
    /// chat-service's per-answer budget; anything else echoes at most its content twice (an
    /// `ack` and the delivery).
    fn reply_weight(&self, sync_reply_bytes: usize) -> usize {
        match &self.action {
            ChatAction::Sync(_) => sync_reply_bytes,
            // A reply's answer also quotes what it answers, and a message lists whom it
            // mentions and the files it carries, in the ack and the delivery.
            ChatAction::SendMessage(send) => {
                let quote = if send.reply_to_id.is_some() {
                    wire::protocol::REPLY_QUOTE_MAX_BYTES
                } else {
                    0
                };
                2 * self.size
                    + EVENT_OVERHEAD
                    + 2 * (quote
                        + wire::protocol::mentions_max_bytes(&send.content)
                        + wire::protocol::attachments_max_bytes(&send.attachment_ids))
            }
            _ => 2 * self.size + EVENT_OVERHEAD,
        }
    }
}

/// A connection's group of actions waiting in the dispatcher's queue.
struct Pending {
    conn: Arc<Connection>,
    group: Vec<Queued>,
    /// Told once the client has its answers; dropped unanswered on failure before sending.
    done: oneshot::Sender<()>,
    /// Who answers the client.
    claim: Claim,
}

/// Who answers a group's actions: the dispatcher (chat-service's answers) or, once the deadline
/// passed, the connection (`chat_unavailable`) — exactly one of them, even when chat-service's
/// answer and the deadline come at the same moment.
#[derive(Clone, Default)]
struct Claim(Arc<std::sync::atomic::AtomicBool>);

impl Claim {
    /// True for the first caller only.
    fn take(&self) -> bool {
        !self.0.swap(true, std::sync::atomic::Ordering::AcqRel)
    }
}

impl Pending {
    /// The group's [`Queued::weight`]s.
    fn weight(&self) -> usize {
        self.group.iter().map(Queued::weight).sum()
    }

    /// The group's [`Queued::reply_weight`]s.
    fn reply_weight(&self, sync_reply_bytes: usize) -> usize {
        self.group
            .iter()
            .map(|q| q.reply_weight(sync_reply_bytes))
            .sum()
    }
}

#[derive(Clone)]
pub(crate) struct Dispatcher {
    queue: mpsc::Sender<Pending>,
}

/// An action not sent when this little time is left: it could not come back in time.
const TOO_LATE: Duration = Duration::from_millis(10);

impl Dispatcher {
    /// Starts the dispatching task; call inside a Tokio runtime.
    pub(crate) fn start(chat: ChatClient, limits: DispatchLimits, publish: Publisher) -> Self {
        let (queue, rx) = mpsc::channel(limits.queue.max(1));
        tokio::spawn(run(chat, rx, limits, publish));
        Self { queue }
    }

    /// Sends a group of `conn`'s actions and waits until the client has their answers
    /// (written by the dispatcher, like the `outbound` deliveries). An error means the client
    /// has not been answered: the caller sends an error frame for each action. Gives up at
    /// the earliest deadline of the group.
    pub(crate) async fn actions(
        &self,
        conn: &Arc<Connection>,
        group: Vec<Queued>,
    ) -> Result<(), ChatError> {
        let Some(deadline) = group.iter().map(|q| q.deadline).min() else {
            return Ok(());
        };
        let (done, mut answered) = oneshot::channel();
        let claim = Claim::default();
        let pending = Pending {
            conn: conn.clone(),
            group,
            done,
            claim: claim.clone(),
        };
        if let Err(err) = self.queue.try_send(pending) {
            return Err(match err {
                mpsc::error::TrySendError::Full(_) => {
                    metrics::counter!("ws_relay_actions_shed_total").increment(1);
                    ChatError::Busy
                }
                mpsc::error::TrySendError::Closed(_) => {
                    ChatError::Unavailable("the relay's dispatcher has stopped".to_owned())
                }
            });
        }
        match tokio::time::timeout_at(deadline.into(), &mut answered).await {
            Ok(Ok(())) => Ok(()),
            // Dropped unanswered (too late to send): the connection answers.
            Ok(Err(_)) => Err(timed_out()),
            Err(_) if claim.take() => Err(timed_out()),
            // The dispatcher is writing the answers right now: they are the client's.
            Err(_) => {
                let _ = answered.await;
                Ok(())
            }
        }
    }
}

/// The `error` frame for a failed action.
pub(crate) fn error_frame(err: &ChatError, id: Option<&FrameId>) -> ByteString {
    let (code, message) = match err {
        ChatError::Rejected { code, message, .. } => (*code, message.as_str()),
        ChatError::Unavailable(_) => (
            ErrorCode::ChatUnavailable,
            "the chat service is unavailable; retry shortly",
        ),
        ChatError::Busy => (
            ErrorCode::Busy,
            "the relay has too many actions waiting for the chat service; retry shortly",
        ),
    };
    protocol::error_frame(code, message, id)
}

fn timed_out() -> ChatError {
    ChatError::Unavailable("chat-service did not answer in time".to_owned())
}

/// What a batch being gathered holds so far.
#[derive(Debug, Default)]
struct BatchSize {
    events: usize,
    bytes: usize,
    reply: usize,
}

impl BatchSize {
    /// Whether `pending` fits in this (non-empty) batch; a group that fits no batch goes
    /// alone.
    fn admits(&self, pending: &Pending, limits: &DispatchLimits) -> bool {
        self.events + pending.group.len() <= limits.max_batch.max(1)
            && self.bytes + pending.weight() <= limits.max_batch_bytes
            && self.reply + pending.reply_weight(limits.sync_reply_bytes) <= limits.max_reply_bytes
    }

    fn add(&mut self, pending: &Pending, limits: &DispatchLimits) {
        self.events += pending.group.len();
        self.bytes += pending.weight();
        self.reply += pending.reply_weight(limits.sync_reply_bytes);
    }
}

async fn run(
    chat: ChatClient,
    mut rx: mpsc::Receiver<Pending>,
    limits: DispatchLimits,
    publish: Publisher,
) {
    let slots = Arc::new(Semaphore::new(limits.max_in_flight.max(1)));
    // A group that did not fit in the last batch opens the next one.
    let mut carried: Option<Pending> = None;
    loop {
        // A free slot first: while every slot is busy, actions gather in the queue and the
        // next batch takes them all.
        let Ok(slot) = slots.clone().acquire_owned().await else {
            return;
        };
        let first = match carried.take() {
            Some(pending) => pending,
            None => match rx.recv().await {
                Some(pending) => pending,
                None => return,
            },
        };
        let mut batch = Vec::new();
        let mut size = BatchSize::default();
        let mut next = Some(first);
        while let Some(pending) = next.take() {
            if !batch.is_empty() && !size.admits(&pending, &limits) {
                carried = Some(pending);
                break;
            }
            if pending.done.is_closed() {
                // The connection stopped waiting (deadline, or it closed).
            } else if pending.group.iter().any(Queued::is_late) {
                // Dropped unanswered: the connection answers `chat_unavailable` itself.
                metrics::counter!("ws_relay_actions_expired_total")
                    .increment(pending.group.len() as u64);
            } else {
                size.add(&pending, &limits);
                batch.push(pending);
            }
            next = rx.try_recv().ok();
        }
        if batch.is_empty() {
            continue;
        }
        let chat = chat.clone();
        let publish = publish.clone();
        tokio::spawn(async move {
            send(&chat, batch, size.events, &publish).await;
            drop(slot);
        });
    }
}

async fn send(chat: &ChatClient, batch: Vec<Pending>, size: usize, publish: &Publisher) {
    metrics::histogram!("ws_relay_chat_batch_size").record(size as f64);
    let mut waiting = Vec::with_capacity(batch.len());
    let mut events = Vec::with_capacity(size);
    for pending in batch {
        let mut ids = Vec::with_capacity(pending.group.len());
        // Read now: a `refreshToken` may have changed it since the actions were queued.
        let identity = pending.conn.identity();
        for queued in pending.group {
            ids.push(queued.id);
            events.push(ActionRequest {
                connection_id: pending.conn.id.to_string(),
                identity: identity.clone(),
                action: queued.action,
            });
        }
        waiting.push((pending.conn, ids, pending.done, pending.claim));
    }
    let request_id = uuid::Uuid::new_v4().to_string();
    let mut outcomes = chat
        .actions(&ActionBatch { events }, &request_id)
        .await
        .into_iter();
    let mut deliveries = Vec::new();
    let mut failed = 0usize;
    let mut first_error = None;
    for (conn, ids, done, claim) in waiting {
        // A connection that stopped waiting (its deadline passed) already said
        // `chat_unavailable`; it gets no second answer.
        let answer = !done.is_closed() && claim.take();
        for id in ids {
            let Some(outcome) = outcomes.next() else {
                break;
            };
            let frame = match outcome {
                Ok(ActionResponse { reply, outbound }) => {
                    deliveries.extend(outbound);
                    reply.map(|reply| protocol::reply(reply, id.as_ref()))
                }
                Err(err) => {
                    if err.is_temporary() {
                        failed += 1;
                        first_error.get_or_insert_with(|| err.to_string());
                    }
                    Some(error_frame(&err, id.as_ref()))
                }
            };
            if answer && let Some(frame) = frame {
                conn.send_text(frame);
            }
        }
        let _ = done.send(());
    }
    if let Some(error) = first_error {
        // One line per batch, not per action: a chat-service outage is one event.
        tracing::warn!(%request_id, size, failed, %error, "actions failed");
    }
    if !deliveries.is_empty() {
        publish(deliveries);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use service_kit::InternalApiKey;

    async fn act(d: &Dispatcher, deadline: Instant) -> Result<(), ChatError> {
        let group = vec![Queued {
            action: typing(),
            id: None,
            size: 20,
            deadline,
        }];
        d.actions(
            &Connection::detached(uuid::Uuid::nil(), 8, 1024 * 1024),
            group,
        )
        .await
    }

    fn typing() -> ChatAction {
        ChatAction::Typing(wire::protocol::Typing { room_id: 1 })
    }

    /// A chat-service that accepts connections and never answers.
    async fn silent_chat() -> (tokio::net::TcpListener, ChatClient) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let chat = ChatClient::new(
            &url,
            InternalApiKey::new("k"),
            Duration::from_secs(30),
            1 << 20,
        )
        .unwrap();
        (listener, chat)
    }

    fn pending(action: ChatAction, size: usize) -> Pending {
        Pending {
            conn: Connection::detached(uuid::Uuid::nil(), 8, 1024 * 1024),
            group: vec![Queued {
                action,
                id: None,
                size,
                deadline: Instant::now(),
            }],
            done: oneshot::channel().0,
            claim: Claim::default(),
        }
    }

    #[test]
    fn batches_are_cut_by_count_request_bytes_and_expected_answer() {
        let limits = DispatchLimits {
            max_batch: 10,
            max_batch_bytes: 100 * 1024,
            max_reply_bytes: 2 * 1024 * 1024,
            sync_reply_bytes: 512 * 1024,
            ..DispatchLimits::default()
        };
        let fill = |kind: ChatAction, size: usize| {
            let mut batch = BatchSize::default();
            let mut n = 0;
            loop {
                let next = pending(kind.clone(), size);
                if n > 0 && !batch.admits(&next, &limits) {
                    return n;
                }
                batch.add(&next, &limits);
                n += 1;
            }
        };
        // Small typing frames: the count.
        assert_eq!(fill(typing(), 20), 10);
        // 30 KiB sends: the request bytes (three and the overhead fit in 100 KiB).
        let send = ChatAction::SendMessage(wire::protocol::SendMessage {
            room_id: 1,
            content: String::new(),
            client_msg_id: None,
            reply_to_id: None,
            attachment_ids: Vec::new(),
        });
        assert_eq!(fill(send, 30 * 1024), 3);
        // Syncs: four answers of at most 512 KiB fit in 2 MiB.
        assert_eq!(
            fill(ChatAction::Sync(wire::protocol::Sync::default()), 60),
            4
        );
    }

    #[tokio::test]
    async fn a_full_queue_sheds_at_once_and_late_actions_time_out() {
        let (listener, chat) = silent_chat().await;
        let accept = tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((socket, _)) = listener.accept().await {
                held.push(socket);
            }
        });
        let limits = DispatchLimits {
            max_batch: 1,
            max_in_flight: 1,
            queue: 1,
            ..DispatchLimits::default()
        };
        let dispatcher = Dispatcher::start(chat, limits, Arc::new(|_| {}));
        let deadline = Instant::now() + Duration::from_millis(400);
        // The first goes out and hangs; the second waits in the queue behind it.
        let d = dispatcher.clone();
        let first = tokio::spawn(async move { act(&d, deadline).await });
        tokio::time::sleep(Duration::from_millis(100)).await;
        let d = dispatcher.clone();
        let second = tokio::spawn(async move { act(&d, deadline).await });
        tokio::time::sleep(Duration::from_millis(50)).await;
        // The queue is full: refused without waiting.
        let started = Instant::now();
        let third = act(&dispatcher, deadline).await;
        assert_eq!(third, Err(ChatError::Busy));
        assert!(started.elapsed() < Duration::from_millis(100));
        for waiting in [first, second] {
            let outcome = waiting.await.unwrap();
            assert!(
                matches!(outcome, Err(ChatError::Unavailable(_))),
                "{outcome:?}"
            );
        }
        accept.abort();
    }
}
