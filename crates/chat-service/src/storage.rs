//! Where uploaded files live: one interface ([`Storage`], over the `object_store` crate) for
//! the local filesystem (the quick start: `DATA_DIR/files`, nothing to install) and any
//! S3-compatible store (deployments), chosen once at start-up from `STORAGE_URL`. Keys are
//! `uploads/<id>` for a file as served and `thumbnails/<id>` for its thumbnail.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use futures_util::stream::BoxStream;
use object_store::aws::AmazonS3Builder;
use object_store::buffered::BufWriter;
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::prefix::PrefixStore;
use object_store::{GetOptions, GetRange, ObjectStore, ObjectStoreExt, PutPayload};
use uuid::Uuid;

use crate::config::StorageConfig;

/// Streamed uploads are written in parts of this size (S3's smallest part is 5 MiB): what an
/// upload holds in memory at most, besides the part being sent.
const PART_BYTES: usize = 5 * 1024 * 1024;

/// How long `/readyz` waits for the store.
const READY_TIMEOUT: Duration = Duration::from_secs(3);

#[derive(Clone)]
pub struct Storage {
    store: Arc<dyn ObjectStore>,
    /// `local (<dir>)` or `s3 (<bucket>/<prefix>)`: what `/readyz` and logs name.
    describe: Arc<str>,
}

impl std::fmt::Debug for Storage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe)
    }
}

/// A read of a stored object: its bytes as a stream.
pub type ByteStream = BoxStream<'static, Result<bytes::Bytes, object_store::Error>>;

impl Storage {
    /// Opens the configured store. The local directory is created (0700) when missing; an S3
    /// bucket is not contacted here (`/readyz` does).
    pub fn open(config: &StorageConfig) -> anyhow::Result<Self> {
        match config {
            StorageConfig::Local(dir) => {
                store_kit::files::private_dir(dir).with_context(|| {
                    format!("creating the file storage directory {}", dir.display())
                })?;
                let store = LocalFileSystem::new_with_prefix(dir)
                    .with_context(|| format!("opening the file storage {}", dir.display()))?;
                Ok(Self {
                    store: Arc::new(store),
                    describe: format!("local ({})", dir.display()).into(),
                })
            }
            StorageConfig::S3(s3) => {
                // The standard AWS_* variables first; the S3_* ones (and the URL) win.
                let mut builder = AmazonS3Builder::from_env()
                    .with_bucket_name(&s3.bucket)
                    .with_region(&s3.region)
                    .with_allow_http(s3.allow_http)
                    .with_virtual_hosted_style_request(!s3.force_path_style);
                if let Some(endpoint) = &s3.endpoint {
                    builder = builder.with_endpoint(endpoint);
                }
                if let Some(key) = &s3.access_key_id {
                    builder = builder.with_access_key_id(key);
                }
                if let Some(secret) = &s3.secret_access_key {
                    builder = builder.with_secret_access_key(secret);
                }
                let store = builder.build().context(
                    "configuring S3 storage (STORAGE_URL, S3_ENDPOINT, S3_REGION, S3_ACCESS_KEY_ID, S3_SECRET_ACCESS_KEY)",
                )?;
                let describe = format!(
                    "s3 ({}/{}{})",
                    s3.endpoint.as_deref().unwrap_or("aws"),
                    s3.bucket,
                    if s3.prefix.is_empty() {
                        String::new()
                    } else {
                        format!("/{}", s3.prefix)
                    }
                );
                let store: Arc<dyn ObjectStore> = if s3.prefix.is_empty() {
                    Arc::new(store)
                } else {
                    Arc::new(PrefixStore::new(store, s3.prefix.as_str()))
                };
                Ok(Self {
                    store,
                    describe: describe.into(),
                })
            }
        }
    }

    pub fn describe(&self) -> &str {
        &self.describe
    }

    pub fn upload_key(id: Uuid) -> Path {
        Path::from(format!("uploads/{id}"))
    }

    pub fn thumbnail_key(id: Uuid) -> Path {
        Path::from(format!("thumbnails/{id}"))
    }

    /// A writer that streams an object in parts (a small one goes up in one request).
    pub fn writer(&self, key: Path) -> BufWriter {
        BufWriter::with_capacity(self.store.clone(), key, PART_BYTES)
    }

    /// Stores a small object whole (thumbnails, re-encoded images).
    pub async fn put(&self, key: &Path, bytes: Vec<u8>) -> anyhow::Result<()> {
        self.store
            .put(key, PutPayload::from(bytes))
            .await
            .with_context(|| format!("storing {key} in {}", self.describe))?;
        Ok(())
    }

    /// The whole object (images to decode; bounded by `UPLOAD_MAX_BYTES`).
    pub async fn read_all(&self, key: &Path) -> anyhow::Result<bytes::Bytes> {
        let got = self
            .store
            .get(key)
            .await
            .with_context(|| format!("reading {key} from {}", self.describe))?;
        Ok(got.bytes().await?)
    }

    /// The bytes `range` (end excluded) of an object, or all of them, as a stream.
    pub async fn read(
        &self,
        key: &Path,
        range: Option<std::ops::Range<u64>>,
    ) -> Result<ByteStream, object_store::Error> {
        let options = GetOptions {
            range: range.map(GetRange::Bounded),
            ..Default::default()
        };
        Ok(self.store.get_opts(key, options).await?.into_stream())
    }

    /// Removes an object; one already gone is no error (deletes are idempotent, so replicas
    /// sweeping the same row do no harm).
    pub async fn delete(&self, key: &Path) -> anyhow::Result<()> {
        match self.store.delete(key).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => {
                Err(anyhow::Error::new(e).context(format!("deleting {key} from {}", self.describe)))
            }
        }
    }

    /// The keys stored under `prefix` (`uploads`, `thumbnails`): for operators' checks and
    /// tests; it lists the whole prefix.
    pub async fn keys(&self, prefix: &str) -> anyhow::Result<Vec<String>> {
        use futures_util::TryStreamExt;
        let prefix = Path::from(prefix);
        let metas: Vec<object_store::ObjectMeta> = self
            .store
            .list(Some(&prefix))
            .try_collect()
            .await
            .with_context(|| format!("listing {prefix} in {}", self.describe))?;
        Ok(metas.into_iter().map(|m| m.location.to_string()).collect())
    }

    /// For `/readyz`: a `head` of a key that need not exist, within a few seconds. "Not
    /// found" is an answer, so the store is there.
    pub async fn check(&self) -> Result<(), String> {
        let probe = Path::from("readyz-probe");
        match tokio::time::timeout(READY_TIMEOUT, self.store.head(&probe)).await {
            Ok(Ok(_)) | Ok(Err(object_store::Error::NotFound { .. })) => Ok(()),
            Ok(Err(e)) => Err(format!(
                "file storage {} failed: {e} (check STORAGE_URL and the S3_* settings)",
                self.describe
            )),
            Err(_) => Err(format!(
                "file storage {} did not answer within {} s",
                self.describe,
                READY_TIMEOUT.as_secs()
            )),
        }
    }
}
