//! Web Push (docs/architecture.md, "Notifications"): [`webpush`] encrypts and signs (pure),
//! [`delivery`] sends to push services (connecting only to public addresses: [`resolver`]),
//! [`notifier`] decides who hears of what and when.

pub mod delivery;
pub mod notifier;
pub mod resolver;
pub mod webpush;

use std::sync::Arc;

use relay_client::RelayClient;
use sqlx::AnyPool;

use crate::config::PushSettings;
use notifier::{Notice, Notifier};
use webpush::Vapid;

/// The name of the VAPID private key in `instance_secrets`.
pub const VAPID_SECRET: &str = "vapid_private_key";

/// Web Push, running: the VAPID key pair and the notifier.
pub struct WebPush {
    pub vapid: Arc<Vapid>,
    notifier: Notifier,
}

impl WebPush {
    /// Loads the VAPID key (`PUSH_VAPID_PRIVATE_KEY`, else the one in `instance_secrets`,
    /// made on the first start) and starts the notifier; None when `PUSH_ENABLED=false`.
    pub async fn start(
        settings: &PushSettings,
        pool: &AnyPool,
        relay: RelayClient,
        http: reqwest::Client,
    ) -> anyhow::Result<Option<Self>> {
        if !settings.enabled {
            tracing::info!("Web Push is off (PUSH_ENABLED=false)");
            return Ok(None);
        }
        let private = match &settings.vapid_private_key {
            Some(key) => key.0.clone(),
            None => {
                crate::store::secrets::get_or_create(
                    pool,
                    VAPID_SECRET,
                    Vapid::generate_private_key,
                    store_kit::now_ms(),
                )
                .await?
            }
        };
        let vapid = Arc::new(
            Vapid::from_private_key(&private, &settings.vapid_subject)
                .map_err(|e| anyhow::anyhow!("PUSH_VAPID_PRIVATE_KEY: {e:#}"))?,
        );
        let deliverer = delivery::Deliverer::new(http, pool.clone(), vapid.clone(), settings);
        let notifier = notifier::start(pool.clone(), relay, settings.clone(), deliverer);
        Ok(Some(Self { vapid, notifier }))
    }

    /// Hands stored messages to the notifier (never waits).
    pub fn notify(&self, notices: Vec<Notice>) {
        self.notifier.notify(notices);
    }
}
