//! Files: storing an upload (streamed, limited while it streams, typed from its bytes,
//! images measured, thumbnailed and stripped of EXIF), deciding who may fetch one, and the
//! sweeper that reclaims what nobody can fetch any more.

use std::time::Duration;

use anyhow::Context;
use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use service_kit::ratelimit::Quota;
use tokio::io::AsyncWriteExt;
use uuid::Uuid;

use super::{Caller, rate_limit, visible_room};
use crate::domain::files::{FileName, Sniffer};
use crate::error::{ApiError, ApiResult};
use crate::images;
use crate::startup::AppState;
use crate::storage::Storage;
use crate::store::uploads::{self, Completed, Thumbnail, Upload};

fn reject(reason: &'static str, err: ApiError) -> ApiError {
    metrics::counter!("uploads_rejected_total", "reason" => reason).increment(1);
    err
}

/// Why streaming an upload stopped.
enum Stop {
    TooLarge,
    Quota,
    Empty,
    Body(String),
    Storage(anyhow::Error),
}

/// Stores one upload of `caller` from `body` and answers what it became. The bytes go to
/// storage as they arrive (in parts; never whole in memory); past `UPLOAD_MAX_BYTES`, or past
/// the caller's quota, the stream stops, the partial object is removed and the answer is 413.
pub async fn upload<S, E>(
    state: &AppState,
    caller: &Caller,
    name: FileName,
    mut body: S,
) -> ApiResult<Upload>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
    E: std::fmt::Display,
{
    let files = &state.settings.files;
    let per_hour = Quota::per_hour(files.uploads_per_hour);
    rate_limit(state, &format!("upload:{}", caller.id), per_hour)
        .await
        .map_err(|e| reject("rate_limited", e))?;
    let quota = files.upload_quota_bytes;
    let used = uploads::usage(&state.db.pool, caller.id).await?;
    if used >= quota {
        return Err(reject(
            "quota",
            ApiError::UploadQuotaExceeded { used, quota },
        ));
    }
    let id = Uuid::now_v7();
    uploads::start(
        &state.db.pool,
        id,
        caller.id,
        name.as_str(),
        store_kit::now_ms(),
    )
    .await?;
    let key = Storage::upload_key(id);
    let mut writer = state.storage.writer(key.clone());
    let mut sniffer = Sniffer::new();
    let mut size: u64 = 0;
    let mut streamed: Result<(), Stop> = async {
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(|e| Stop::Body(e.to_string()))?;
            size += chunk.len() as u64;
            if size > files.upload_max_bytes {
                return Err(Stop::TooLarge);
            }
            if used + size > quota {
                return Err(Stop::Quota);
            }
            sniffer.feed(&chunk);
            writer
                .put(chunk)
                .await
                .map_err(|e| Stop::Storage(e.into()))?;
        }
        if size == 0 {
            return Err(Stop::Empty);
        }
        Ok(())
    }
    .await;
    if streamed.is_ok() {
        streamed = writer
            .shutdown()
            .await
            .map_err(|e| Stop::Storage(anyhow::Error::new(e).context("finishing an upload")));
    } else {
        // Drops whatever parts went up (a multipart upload is aborted; a local staging file
        // removed).
        let _ = writer.abort().await;
    }
    if let Err(stop) = streamed {
        discard(state, id).await;
        let used_now = used + size;
        return Err(match stop {
            Stop::TooLarge => reject("too_large", ApiError::UploadTooLarge(files.upload_max_bytes)),
            Stop::Quota => reject(
                "quota",
                ApiError::UploadQuotaExceeded {
                    used: used_now,
                    quota,
                },
            ),
            Stop::Empty => reject(
                "empty",
                ApiError::UnsupportedMediaType(
                    "the upload has no bytes: send the file as the multipart part `file`, or as the body with ?filename="
                        .to_owned(),
                ),
            ),
            Stop::Body(e) => reject(
                "unreadable",
                ApiError::UnsupportedMediaType(format!("could not read the upload: {e}")),
            ),
            Stop::Storage(e) => reject("storage", ApiError::storage(e)),
        });
    }
    let sniffed = sniffer.content_type();
    let done = match finish_image(state, id, sniffed, size).await {
        Ok(done) => done,
        Err(e) => {
            discard(state, id).await;
            return Err(reject("storage", ApiError::storage(e)));
        }
    };
    if !uploads::complete(
        &state.db.pool,
        id,
        caller.id,
        &done,
        quota,
        store_kit::now_ms(),
    )
    .await?
    {
        // Another upload of the same user completed meanwhile and took the room.
        discard(state, id).await;
        let used = uploads::usage(&state.db.pool, caller.id).await?;
        return Err(reject(
            "quota",
            ApiError::UploadQuotaExceeded { used, quota },
        ));
    }
    metrics::counter!("uploads_total").increment(1);
    metrics::counter!("upload_bytes_total").increment(done.size);
    tracing::info!(upload_id = %id, size = done.size, content_type = %done.content_type, "file uploaded");
    uploads::get(&state.db.pool, id)
        .await?
        .ok_or_else(|| ApiError::Unexpected(anyhow::anyhow!("a completed upload vanished")))
}

/// What a stored upload is: its sniffed type and size, and for an image its dimensions and
/// thumbnail. An image with EXIF metadata is replaced by its re-encoded copy (orientation
/// applied, metadata gone) before anyone can fetch it.
async fn finish_image(
    state: &AppState,
    id: Uuid,
    content_type: &'static str,
    size: u64,
) -> anyhow::Result<Completed> {
    let mut done = Completed {
        content_type: content_type.to_owned(),
        size,
        dimensions: None,
        thumbnail: None,
    };
    let Some(format) = images::format_of(content_type) else {
        return Ok(done);
    };
    let key = Storage::upload_key(id);
    let bytes = state.storage.read_all(&key).await?;
    let processed = state.images.process(bytes, format).await;
    done.dimensions = processed.dimensions;
    if let Some(clean) = processed.replacement {
        done.size = clean.bytes.len() as u64;
        done.content_type = clean.content_type.to_owned();
        state.storage.put(&key, clean.bytes).await?;
    }
    if let Some(thumb) = processed.thumbnail {
        let thumbnail = Thumbnail {
            width: thumb.width,
            height: thumb.height,
            size: thumb.bytes.len() as u64,
            content_type: thumb.content_type.to_owned(),
        };
        state
            .storage
            .put(&Storage::thumbnail_key(id), thumb.bytes)
            .await?;
        done.thumbnail = Some(thumbnail);
    }
    Ok(done)
}

/// Removes an upload that failed: its objects, then its row (failures are logged; the
/// sweeper finds a row left behind once the TTL passes).
pub async fn discard(state: &AppState, id: Uuid) {
    for key in [Storage::upload_key(id), Storage::thumbnail_key(id)] {
        if let Err(e) = state.storage.delete(&key).await {
            tracing::warn!(error = %format!("{e:#}"), upload_id = %id, "could not remove a failed upload's object; the sweeper will retry");
            return;
        }
    }
    if let Err(e) = uploads::forget(&state.db.pool, id).await {
        tracing::warn!(error = %format!("{e:#}"), upload_id = %id, "could not forget a failed upload; the sweeper will remove it");
    }
}

/// The upload, if the caller may fetch it: a member of the room of the message that carries
/// it (everyone for `general`), or — while no message carries it — its owner (the composer's
/// preview). Everyone else, like a missing or deleted file, gets `file_not_found`.
pub async fn readable(state: &AppState, caller: &Caller, id: Uuid) -> ApiResult<Upload> {
    let upload = uploads::get(&state.db.pool, id)
        .await?
        .ok_or(ApiError::FileNotFound)?;
    match upload.room_id {
        None if upload.message_id.is_none() && upload.owner == caller.id => Ok(upload),
        Some(room_id) => visible_room(state, caller, room_id)
            .await
            .map(|_| upload)
            .map_err(|_| ApiError::FileNotFound),
        None => Err(ApiError::FileNotFound),
    }
}

/// What one sweep did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Swept {
    /// Uploads newly found unreachable (unattached past the TTL, or of a deleted room).
    pub expired: u64,
    /// Uploads whose objects and rows were removed.
    pub removed: u64,
}

/// How many deleted uploads one claim takes.
const SWEEP_BATCH: i64 = 100;
/// A claim older than this is taken over (its sweeper died).
const CLAIM_STALE: Duration = Duration::from_secs(600);

/// One pass of the sweeper: marks unreachable uploads deleted, then removes deleted uploads'
/// objects and rows, a claimed batch at a time. Safe with several replicas.
pub async fn sweep(state: &AppState) -> anyhow::Result<Swept> {
    let files = &state.settings.files;
    let now = store_kit::now_ms();
    let ttl = i64::try_from(files.unattached_ttl.as_millis()).unwrap_or(i64::MAX);
    // An upload still streaming is left alone for at least an hour.
    let streaming = ttl.max(3_600_000);
    let mut swept = Swept {
        expired: uploads::expire(
            &state.db.pool,
            now.saturating_sub(ttl),
            now.saturating_sub(streaming),
            now,
        )
        .await?,
        removed: 0,
    };
    let stale = now - CLAIM_STALE.as_millis() as i64;
    loop {
        let claimed =
            uploads::claim(&state.db.pool, store_kit::now_ms(), stale, SWEEP_BATCH).await?;
        if claimed.is_empty() {
            break;
        }
        for id in &claimed {
            for key in [Storage::upload_key(*id), Storage::thumbnail_key(*id)] {
                state
                    .storage
                    .delete(&key)
                    .await
                    .with_context(|| format!("sweeping upload {id}"))?;
            }
            uploads::remove_swept(&state.db.pool, *id).await?;
            swept.removed += 1;
            metrics::counter!("files_swept_total").increment(1);
        }
        if (claimed.len() as i64) < SWEEP_BATCH {
            break;
        }
    }
    Ok(swept)
}

/// Runs [`sweep`] every `UPLOAD_SWEEP_SECS`.
pub fn spawn_sweeper(state: actix_web::web::Data<AppState>) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(state.settings.files.sweep_interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            match sweep(&state).await {
                Ok(swept) if swept.removed > 0 || swept.expired > 0 => {
                    tracing::info!(
                        expired = swept.expired,
                        removed = swept.removed,
                        "file sweep"
                    );
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(
                    error = %format!("{e:#}"),
                    storage = state.storage.describe(),
                    "file sweep failed; it is retried next time — check that the storage and database are reachable"
                ),
            }
        }
    });
}
