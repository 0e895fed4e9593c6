//! The S3 adapter for media (videos, covers, default profile images): the only
//! module that speaks `aws-sdk-s3`.
//!
//! The bucket is private. Clients get media through links that are either
//! presigned GETs or, when a public base URL (a CDN) is configured, that base
//! plus the key. Presigned links are signed for a window that starts at a
//! round time (the hour, for the default lifetime), so the same object gets the
//! same link for that long: clients and
//! caches can reuse it.
//!
//! A presigned link works only as long as the credentials that signed it: a
//! Lambda's role credentials are temporary. When the credentials say when
//! they expire, a link's lifetime is cut at that moment (it states the truth,
//! and a client asks again instead of meeting a 403), and the credentials are
//! resolved again for the next window, or sooner when they are about to
//! expire.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_sdk_s3::Client;
use aws_sdk_s3::config::{IdentityCache, ProvideCredentials as _, SharedCredentialsProvider};
use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::ByteStream;
use bytes::Bytes;
use tokio::sync::OnceCell;

use crate::error::{Context as _, Error, Result};

/// The tag every presigned upload carries (`x-amz-tagging`, signed into the
/// URL): the bucket's lifecycle rule expires tagged objects under `uploads/`
/// that no ingest removed, and leaves untagged ones alone (videos published in
/// place there before published media moved to server-owned keys).
pub const UPLOAD_TAG: (&str, &str) = ("douyin", "upload");

/// `Cache-Control` of objects whose key names their content (published
/// videos and covers, default images): a key is never written with other
/// bytes, so browsers and a CDN may keep them for a year.
pub const IMMUTABLE: &str = "public, max-age=31536000, immutable";

/// Key of the default avatar.
pub const DEFAULT_AVATAR_KEY: &str = "defaults/avatar.png";
/// Key of the default profile background.
pub const DEFAULT_BACKGROUND_KEY: &str = "defaults/background.png";

const DEFAULT_AVATAR: &[u8] = include_bytes!("../assets/avatar.png");
const DEFAULT_BACKGROUND: &[u8] = include_bytes!("../assets/background.png");

/// The media bucket.
#[derive(Clone, Debug)]
pub struct Media {
    client: Client,
    /// Signs links for clients. Differs from `client` only in its endpoint when
    /// the bucket is reached at another address from outside (the local server
    /// behind `--public-url`).
    presigner: Client,
    bucket: String,
    base_url: Option<String>,
    link_ttl: Duration,
    /// The credentials `presigner` signs with, to learn when they expire.
    credentials: Option<SharedCredentialsProvider>,
    /// Set once the default images are known to be in the bucket.
    defaults_ready: Arc<OnceCell<()>>,
    /// The links signed in the current window. A link is the same for the
    /// whole window, and signing one (SigV4 through the SDK's orchestrator)
    /// costs more than the rest of a feed page, so each is signed once per
    /// window per process.
    signed: Arc<std::sync::Mutex<SignedLinks>>,
    /// Numbers the signers this process makes.
    signers: Arc<std::sync::atomic::AtomicU64>,
}

/// Links signed for one window start, by key, and what signed them.
#[derive(Debug, Default)]
struct SignedLinks {
    window_start: u64,
    /// What signs this window's links, once resolved.
    signer: Option<Signer>,
    links: std::collections::HashMap<String, String>,
}

/// The client that signs a window's links and when its credentials expire.
#[derive(Clone, Debug)]
struct Signer {
    /// Counts signers, so a link signed by one is never cached under another.
    generation: u64,
    client: Client,
    /// Epoch seconds at which the credentials expire, when they say.
    expires: Option<u64>,
}

/// Credentials this close to their expiry are resolved again before signing:
/// a link should leave the server with minutes to live, not seconds.
const CREDENTIALS_MARGIN_SECS: u64 = 300;

/// Past this many links the cache starts over, so a long-lived process on a
/// huge catalogue keeps its memory bounded (about 1 KB a link).
const MAX_CACHED_LINKS: usize = 20_000;

/// What [`Media::get_exact`] found.
#[derive(Debug)]
pub enum Fetched {
    /// No such object.
    Missing,
    /// The object, of the size asked.
    Bytes(Bytes),
    /// An object of this other size, not read.
    OtherSize(u64),
}

/// How media links are made.
#[derive(Clone, Debug)]
pub struct LinkPolicy {
    /// Public base URL (CDN) instead of presigned links.
    pub base_url: Option<String>,
    /// Lifetime of a presigned link.
    pub ttl: Duration,
}

impl Media {
    /// The bucket `bucket` through `client`, signing client links with `presigner`.
    pub fn new(client: Client, presigner: Client, bucket: impl Into<String>, links: LinkPolicy) -> Media {
        Media {
            client,
            presigner,
            bucket: bucket.into(),
            base_url: links.base_url,
            link_ttl: links.ttl,
            credentials: None,
            defaults_ready: Arc::new(OnceCell::new()),
            signed: Arc::default(),
            signers: Arc::default(),
        }
    }

    /// Tells the media links which credentials `presigner` signs with, so that
    /// no link outlives them (`None`: no cap, as when the credentials carry no
    /// expiry).
    pub fn with_signing_credentials(mut self, credentials: Option<SharedCredentialsProvider>) -> Media {
        self.credentials = credentials;
        self
    }

    /// Creates the bucket if it does not exist (local server and tests).
    pub async fn create_bucket_if_missing(&self) -> Result<()> {
        if self.client.head_bucket().bucket(&self.bucket).send().await.is_ok() {
            return Ok(());
        }
        match self.client.create_bucket().bucket(&self.bucket).send().await {
            Ok(_) => Ok(()),
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(|e| e.is_bucket_already_owned_by_you() || e.is_bucket_already_exists()) =>
            {
                Ok(())
            }
            Err(error) => Err(error).context("create media bucket"),
        }
    }

    /// Uploads the default avatar and background if they are missing. The
    /// register function calls it before creating a user; it costs two HEAD
    /// requests once per instance, nothing after that.
    pub async fn ensure_defaults(&self) -> Result<()> {
        self.defaults_ready.get_or_try_init(|| self.upload_missing_defaults()).await?;
        Ok(())
    }

    async fn upload_missing_defaults(&self) -> Result<()> {
        for (key, bytes) in [(DEFAULT_AVATAR_KEY, DEFAULT_AVATAR), (DEFAULT_BACKGROUND_KEY, DEFAULT_BACKGROUND)] {
            if self.client.head_object().bucket(&self.bucket).key(key).send().await.is_ok() {
                continue;
            }
            self.put_immutable(key, Bytes::from_static(bytes), "image/png").await?;
        }
        Ok(())
    }

    /// Opens the client's connection during a Lambda function's init
    /// ([`crate::app::Warmup`]): a `HeadObject` of `key`, which the function
    /// may read. Any answer of the service will do (absent keys included).
    pub async fn warm_up(&self, key: &str) -> Result<()> {
        match self.client.head_object().bucket(&self.bucket).key(key).send().await {
            Ok(_) => Ok(()),
            Err(error) if error.as_service_error().is_some() => Ok(()),
            Err(error) => Err(error).context("warm-up HeadObject"),
        }
    }

    /// Stores an object.
    pub async fn put(&self, key: &str, bytes: Bytes, content_type: &str) -> Result<()> {
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(content_type)
            .body(ByteStream::from(bytes))
            .send()
            .await
            .context("put media object")?;
        Ok(())
    }

    /// Stores an object whose key names its content, with [`IMMUTABLE`] caching.
    pub async fn put_immutable(&self, key: &str, bytes: Bytes, content_type: &str) -> Result<()> {
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(content_type)
            .cache_control(IMMUTABLE)
            .body(ByteStream::from(bytes))
            .send()
            .await
            .context("put media object")?;
        Ok(())
    }

    /// Deletes an object (absent is fine).
    pub async fn delete(&self, key: &str) -> Result<()> {
        self.client.delete_object().bucket(&self.bucket).key(key).send().await.context("delete media object")?;
        Ok(())
    }

    /// The size of an object; `None` when absent.
    pub async fn size(&self, key: &str) -> Result<Option<u64>> {
        match self.client.head_object().bucket(&self.bucket).key(key).send().await {
            Ok(output) => Ok(Some(output.content_length.and_then(|n| u64::try_from(n).ok()).unwrap_or(0))),
            Err(error) if error.as_service_error().is_some_and(|e| e.is_not_found()) => Ok(None),
            Err(error) => Err(error).context("head media object"),
        }
    }

    /// A presigned PUT of `key` for a client: the content type and length are
    /// signed, so the store refuses another type or size; `If-None-Match: *`
    /// is signed too, so the store takes one PUT while the object exists (S3's
    /// conditional writes: a second answers 412); and [`UPLOAD_TAG`], which
    /// the lifecycle rule expires by. Returns the URL and the headers the
    /// client must send with it.
    pub async fn upload_link(
        &self,
        key: &str,
        content_type: &str,
        content_length: u64,
        ttl: Duration,
    ) -> Result<(String, Vec<(String, String)>)> {
        let config = PresigningConfig::expires_in(ttl)
            .map_err(|e| Error::Internal(anyhow::Error::new(e).context("presigning config")))?;
        let request = self
            .presigner
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(content_type)
            .content_length(i64::try_from(content_length).unwrap_or(i64::MAX))
            .if_none_match("*")
            .tagging(format!("{}={}", UPLOAD_TAG.0, UPLOAD_TAG.1))
            .presigned(config)
            .await
            .context("presign upload")?;
        let headers = request.headers().map(|(name, value)| (name.to_owned(), value.to_owned())).collect();
        Ok((request.uri().to_owned(), headers))
    }

    /// Reads a whole object; `None` when absent.
    pub async fn get(&self, key: &str) -> Result<Option<Bytes>> {
        let output = match self.client.get_object().bucket(&self.bucket).key(key).send().await {
            Ok(output) => output,
            Err(error) if error.as_service_error().is_some_and(|e| e.is_no_such_key()) => return Ok(None),
            Err(error) => return Err(error).context("get media object"),
        };
        let body = output.body.collect().await.context("read media object")?;
        Ok(Some(body.into_bytes()))
    }

    /// Reads a whole object if it has exactly `length` bytes: the size is
    /// checked from the answer's headers before the body is read, so an
    /// object of another size is never loaded.
    pub async fn get_exact(&self, key: &str, length: u64) -> Result<Fetched> {
        let output = match self.client.get_object().bucket(&self.bucket).key(key).send().await {
            Ok(output) => output,
            Err(error) if error.as_service_error().is_some_and(|e| e.is_no_such_key()) => return Ok(Fetched::Missing),
            Err(error) => return Err(error).context("get media object"),
        };
        let size = output.content_length.and_then(|n| u64::try_from(n).ok()).unwrap_or(0);
        if size != length {
            return Ok(Fetched::OtherSize(size));
        }
        let body = output.body.collect().await.context("read media object")?;
        Ok(Fetched::Bytes(body.into_bytes()))
    }

    /// The objects under `prefix` last written before `before`, at most
    /// `limit` of them (oldest pages first, in key order).
    pub async fn written_before(&self, prefix: &str, before: SystemTime, limit: usize) -> Result<Vec<String>> {
        let mut keys = Vec::new();
        let mut pages = self.client.list_objects_v2().bucket(&self.bucket).prefix(prefix).into_paginator().send();
        while let Some(page) = pages.next().await {
            let page = page.context("list media objects")?;
            for object in page.contents.unwrap_or_default() {
                let written = object
                    .last_modified
                    .and_then(|time| SystemTime::try_from(time).ok())
                    .unwrap_or(SystemTime::UNIX_EPOCH);
                if let Some(key) = object.key.filter(|_| written < before) {
                    keys.push(key);
                    if keys.len() >= limit {
                        return Ok(keys);
                    }
                }
            }
        }
        Ok(keys)
    }

    /// An absolute URL a client can GET the object at.
    pub async fn link(&self, key: &str) -> Result<String> {
        if let Some(base) = &self.base_url {
            return Ok(format!("{base}/{key}"));
        }
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_secs();
        // Links made within one window are identical; the window is at most a
        // quarter of the lifetime, so every link stays valid for 3/4 of it
        // (unless the credentials expire sooner: then until they do).
        let window = (self.link_ttl.as_secs() / 4).clamp(1, 3600);
        let window_start = now - now % window;
        let signer = self.signer(window_start, now).await?;
        if let Some(link) = self.cached_link(key, &signer) {
            return Ok(link);
        }
        let ttl = match signer.expires {
            Some(expires) => {
                let left = expires.saturating_sub(window_start);
                if expires <= now {
                    tracing::warn!("media link signed with credentials that have expired");
                }
                self.link_ttl.min(Duration::from_secs(left.max(1)))
            }
            None => self.link_ttl,
        };
        let start = UNIX_EPOCH + Duration::from_secs(window_start);
        let link = presign_get(&signer.client, &self.bucket, key, start, ttl).await?;
        if let Ok(mut signed) = self.signed.lock()
            && signed.signer.as_ref().is_some_and(|current| current.generation == signer.generation)
        {
            if signed.links.len() >= MAX_CACHED_LINKS {
                signed.links.clear();
            }
            signed.links.insert(key.to_owned(), link.clone());
        }
        Ok(link)
    }

    fn cached_link(&self, key: &str, signer: &Signer) -> Option<String> {
        let signed = self.signed.lock().ok()?;
        let current = signed.signer.as_ref().is_some_and(|current| current.generation == signer.generation);
        current.then(|| signed.links.get(key).cloned()).flatten()
    }

    /// What signs the links of the window starting at `window_start`: the one
    /// in use, unless the window changed or its credentials expire within
    /// [`CREDENTIALS_MARGIN_SECS`] of `now`; else a new one, on freshly
    /// resolved credentials (and the links cached for the old one are dropped).
    async fn signer(&self, window_start: u64, now: u64) -> Result<Signer> {
        let fresh = |signer: &Signer| signer.expires.is_none_or(|expires| now + CREDENTIALS_MARGIN_SECS < expires);
        if let Ok(signed) = self.signed.lock()
            && let Some(signer) = &signed.signer
            && signed.window_start == window_start
            && fresh(signer)
        {
            return Ok(signer.clone());
        }
        let (client, expires) = match &self.credentials {
            None => (self.presigner.clone(), None),
            Some(provider) => {
                let credentials =
                    provider.provide_credentials().await.context("resolve credentials for media links")?;
                match credentials.expiry() {
                    // Sign with exactly these credentials, so the cap is theirs.
                    Some(expiry) => {
                        let expires = expiry.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs();
                        let config = self
                            .presigner
                            .config()
                            .to_builder()
                            .credentials_provider(credentials)
                            .identity_cache(IdentityCache::no_cache())
                            .build();
                        (Client::from_conf(config), Some(expires))
                    }
                    None => (self.presigner.clone(), None),
                }
            }
        };
        let generation = self.signers.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
        let signer = Signer { generation, client, expires };
        if let Ok(mut signed) = self.signed.lock() {
            *signed = SignedLinks { window_start, signer: Some(signer.clone()), links: Default::default() };
        }
        Ok(signer)
    }

    /// A presigned GET of `key` signed at `start`, valid for `ttl` from then.
    pub async fn link_signed_at(&self, key: &str, start: SystemTime, ttl: Duration) -> Result<String> {
        presign_get(&self.presigner, &self.bucket, key, start, ttl).await
    }
}

/// A presigned GET of `bucket`/`key` by `client`, signed at `start`, valid for `ttl` from then.
async fn presign_get(client: &Client, bucket: &str, key: &str, start: SystemTime, ttl: Duration) -> Result<String> {
    let config = PresigningConfig::builder()
        .start_time(start)
        .expires_in(ttl)
        .build()
        .map_err(|e| Error::Internal(anyhow::Error::new(e).context("presigning config")))?;
    let request = client.get_object().bucket(bucket).key(key).presigned(config).await.context("presign media link")?;
    Ok(request.uri().to_owned())
}
