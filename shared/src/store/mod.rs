//! The DynamoDB adapter: the only module that speaks `aws-sdk-dynamodb`. Every
//! method takes and returns domain values or the item types of [`model`]; no SDK
//! type leaves this module. SDK failures are translated here, once: a failed
//! uniqueness condition becomes [`Error::Conflict`], anything else
//! [`Error::Internal`] with context.
//!
//! The same code runs against DynamoDB, DynamoDB Local and the embedded
//! dynoxide engine: only the endpoint differs.

mod chat;
pub mod ids;
mod interactions;
mod limits;
pub mod model;
mod users;
mod videos;

pub use chat::{ClockRead, FriendsRead, NewMessage, Stored};
pub use interactions::{Index, Page};
pub use videos::{VideoSource, ViewerContext};

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType,
    KeysAndAttributes, Projection, ProjectionType, ScalarAttributeType, TimeToLiveSpecification, TransactWriteItem,
};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::{Context as _, Error, Result};
use crate::metrics::{self, Metric};
use model::Key;

/// A DynamoDB item as the SDK carries it (private to the adapter).
type Item = HashMap<String, AttributeValue>;

/// The table, reached through the AWS SDK.
#[derive(Clone, Debug)]
pub struct Table {
    client: Client,
    name: String,
}

/// Outcome of a transaction whose conditions can fail for a business reason.
#[derive(Debug)]
enum TransactOutcome {
    Done,
    /// The condition of the action at this index failed.
    ConditionFailed(Vec<usize>),
}

impl Table {
    /// The table `name`, through `client`.
    pub fn new(client: Client, name: impl Into<String>) -> Table {
        Table { client, name: name.into() }
    }

    /// The table's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Opens the client's connection (TLS included) before a request needs
    /// it, during a Lambda function's init ([`crate::app::Warmup`]): one
    /// eventually consistent `GetItem` of [`model::warm_up_key`], which no
    /// item has. Any answer of the service will do (a refusal included): the
    /// connection is what it is for.
    pub async fn warm_up(&self) -> Result<()> {
        let call = self.client.get_item().table_name(&self.name).set_key(Some(to_item(&model::warm_up_key())?));
        match call.send().await {
            Ok(_) => Ok(()),
            Err(error) if error.as_service_error().is_some() => Ok(()),
            Err(error) => Err(error).context("warm-up GetItem"),
        }
    }

    /// Creates the table with its indexes and TTL if it does not exist (local
    /// server and tests; on AWS the template creates it).
    pub async fn create_if_missing(&self) -> Result<()> {
        let exists = self.client.describe_table().table_name(&self.name).send().await;
        match exists {
            Ok(_) => return Ok(()),
            Err(error) if error.as_service_error().is_some_and(|e| e.is_resource_not_found_exception()) => {}
            Err(error) => return Err(error).context("describe table"),
        }
        let string_attr = |name: &str| {
            AttributeDefinition::builder().attribute_name(name).attribute_type(ScalarAttributeType::S).build()
        };
        let key = |name: &str, kind: KeyType| KeySchemaElement::builder().attribute_name(name).key_type(kind).build();
        let index = |name: &str, pk: &str, sk: &str| {
            GlobalSecondaryIndex::builder()
                .index_name(name)
                .key_schema(key(pk, KeyType::Hash).context("index key")?)
                .key_schema(key(sk, KeyType::Range).context("index key")?)
                .projection(Projection::builder().projection_type(ProjectionType::All).build())
                .build()
                .context("index definition")
        };
        let created = self
            .client
            .create_table()
            .table_name(&self.name)
            .billing_mode(BillingMode::PayPerRequest)
            .attribute_definitions(string_attr(model::PK).context("attribute")?)
            .attribute_definitions(string_attr(model::SK).context("attribute")?)
            .attribute_definitions(string_attr(model::GSI1_PK).context("attribute")?)
            .attribute_definitions(string_attr(model::GSI1_SK).context("attribute")?)
            .attribute_definitions(string_attr(model::GSI2_PK).context("attribute")?)
            .attribute_definitions(string_attr(model::GSI2_SK).context("attribute")?)
            .key_schema(key(model::PK, KeyType::Hash).context("key")?)
            .key_schema(key(model::SK, KeyType::Range).context("key")?)
            .global_secondary_indexes(index(model::GSI1, model::GSI1_PK, model::GSI1_SK)?)
            .global_secondary_indexes(index(model::GSI2, model::GSI2_PK, model::GSI2_SK)?)
            .send()
            .await;
        match created {
            Ok(_) => {}
            // Another process created it between our describe and create.
            Err(error) if error.as_service_error().is_some_and(|e| e.is_resource_in_use_exception()) => {}
            Err(error) => return Err(error).context("create table"),
        }
        let ttl = TimeToLiveSpecification::builder().attribute_name(model::TTL).enabled(true).build().context("ttl")?;
        self.client
            .update_time_to_live()
            .table_name(&self.name)
            .time_to_live_specification(ttl)
            .send()
            .await
            .context("enable ttl")?;
        Ok(())
    }

    /// Reads one item, strongly consistent (a client reads its own writes at once).
    async fn get<T: DeserializeOwned>(&self, key: &Key, what: &'static str) -> Result<Option<T>> {
        let output = self
            .client
            .get_item()
            .table_name(&self.name)
            .set_key(Some(to_item(key)?))
            .consistent_read(true)
            .send()
            .await
            .context(what)?;
        output.item.map(from_item).transpose()
    }

    /// Reads many items by key, strongly consistent, in chunks of 100, retrying
    /// unprocessed keys. Returns the items found, keyed by their key; absent
    /// keys are simply missing.
    async fn batch_get(&self, keys: &[Key], what: &'static str) -> Result<HashMap<Key, Item>> {
        let mut unique: Vec<&Key> = Vec::with_capacity(keys.len());
        for key in keys {
            if !unique.contains(&key) {
                unique.push(key);
            }
        }
        // A request holds at most 100 keys; more are sent at once, one round.
        let chunks = unique.chunks(100).map(|chunk| self.batch_get_chunk(chunk, what));
        let mut found = HashMap::with_capacity(unique.len());
        for items in futures_util::future::try_join_all(chunks).await? {
            found.extend(items);
        }
        Ok(found)
    }

    /// One `BatchGetItem` of at most 100 keys, asked again for what it left
    /// unprocessed.
    async fn batch_get_chunk(&self, chunk: &[&Key], what: &'static str) -> Result<Vec<(Key, Item)>> {
        let mut found = Vec::with_capacity(chunk.len());
        let mut request = KeysAndAttributes::builder().consistent_read(true);
        for key in chunk {
            request = request.keys(to_item(*key)?);
        }
        let mut pending = Some(request.build().context("batch get keys")?);
        let mut attempt = 0u32;
        while let Some(keys_and_attributes) = pending.take() {
            let output = self
                .client
                .batch_get_item()
                .request_items(&self.name, keys_and_attributes)
                .send()
                .await
                .context(what)?;
            for item in output.responses.and_then(|mut r| r.remove(&self.name)).unwrap_or_default() {
                found.push((key_of(&item)?, item));
            }
            pending = output.unprocessed_keys.and_then(|mut u| u.remove(&self.name));
            if pending.is_some() {
                metrics::count(Metric::DynamoDbRetries);
                attempt += 1;
                if attempt > 8 {
                    return Err(Error::Internal(anyhow::anyhow!("{what}: unprocessed keys after retries")));
                }
                backoff(attempt).await;
            }
        }
        Ok(found)
    }

    /// Runs a transaction, retrying what did not commit or may not have.
    ///
    /// One client request token is drawn for the whole call and sent with
    /// every attempt (the SDK's own retries reuse it too). DynamoDB applies a
    /// token's transaction at most once in 10 minutes and answers a repeat
    /// whose first attempt committed with success, changing nothing; an
    /// attempt that did not commit leaves the token free, so its retry runs.
    /// That is what makes a retry after an ambiguous answer safe: after
    /// `TransactionInProgressException` (the first attempt is still being
    /// applied) a retry with a *new* token would run the writes a second time
    /// and meet its own first attempt's writes (a taken username, a used
    /// comment id). Cancelled transactions (a condition, a conflict) did not
    /// commit, and their retry with the same token runs afresh. Tokens are
    /// random because DynamoDB scopes them to the account, not the table.
    ///
    /// Retried here: conflicts with other transactions (jittered backoff, 10
    /// tries) and a transaction still in progress after the SDK's own retries
    /// (which classify it as a throttle; then 7 more tries over 4–6 s: AWS
    /// recommends a retry at least 5 s after the first attempt, which then
    /// completes the pending transaction; all of it well inside a function's timeout).
    async fn transact(&self, actions: Vec<TransactWriteItem>, what: &'static str) -> Result<TransactOutcome> {
        let token = rand::distr::SampleString::sample_string(&rand::distr::Alphanumeric, &mut rand::rng(), 36);
        let mut conflicts = 0u32;
        let mut in_progress = 0u32;
        loop {
            let result = self
                .client
                .transact_write_items()
                .set_transact_items(Some(actions.clone()))
                .client_request_token(&token)
                .send()
                .await;
            let error = match result {
                Ok(_) => return Ok(TransactOutcome::Done),
                Err(error) => error,
            };
            let reasons: Vec<String> = match &error {
                SdkError::ServiceError(service) => match service.err() {
                    aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError::TransactionCanceledException(cancel) => {
                        cancel.cancellation_reasons().iter().map(|r| r.code().unwrap_or("None").to_owned()).collect()
                    }
                    _ => Vec::new(),
                },
                _ => Vec::new(),
            };
            let failed: Vec<usize> = reasons
                .iter()
                .enumerate()
                .filter(|(_, code)| *code == "ConditionalCheckFailed")
                .map(|(i, _)| i)
                .collect();
            if !failed.is_empty() {
                return Ok(TransactOutcome::ConditionFailed(failed));
            }
            if reasons.iter().any(|code| code == "TransactionConflict") && conflicts < 9 {
                conflicts += 1;
                metrics::count(Metric::TransactionConflicts);
                backoff(conflicts).await;
                continue;
            }
            if error.as_service_error().is_some_and(|e| e.is_transaction_in_progress_exception()) && in_progress < 7 {
                in_progress += 1;
                metrics::count(Metric::TransactionConflicts);
                in_progress_pause(in_progress).await;
                continue;
            }
            return Err(error).context(what);
        }
    }
}

/// The pause before retrying a transaction still in progress: 250 ms, 500 ms,
/// then 1 s, each shortened by up to a quarter at random (7 tries: 4.3 to
/// 5.75 s in all).
async fn in_progress_pause(attempt: u32) {
    let base_ms = (250u64 << attempt.saturating_sub(1).min(2)).min(1000);
    let pause = base_ms * 3 / 4 + rand::random_range(0..=base_ms / 4);
    tokio::time::sleep(Duration::from_millis(pause)).await;
}

/// Full jitter exponential backoff: a random pause up to 10 ms × 2^attempt,
/// capped at 500 ms.
async fn backoff(attempt: u32) {
    let cap_ms = (10u64 << attempt.min(6)).min(500);
    let pause = rand::random_range(0..=cap_ms);
    tokio::time::sleep(Duration::from_millis(pause)).await;
}

fn to_item<T: Serialize>(value: &T) -> Result<Item> {
    serde_dynamo::to_item(value).context("encode item")
}

fn from_item<T: DeserializeOwned>(item: Item) -> Result<T> {
    serde_dynamo::from_item(item).context("decode item")
}

fn key_of(item: &Item) -> Result<Key> {
    let text = |name: &str| match item.get(name) {
        Some(AttributeValue::S(value)) => Ok(value.clone()),
        _ => Err(Error::Internal(anyhow::anyhow!("item without string {name}"))),
    };
    Ok(Key { pk: text(model::PK)?, sk: text(model::SK)? })
}

impl Table {
    /// A transaction action that creates `item` only if no item has its key.
    fn put_new<T: Serialize>(&self, item: &T) -> Result<TransactWriteItem> {
        self.put_action(item, Some("attribute_not_exists(#pk)"))
    }

    /// A transaction action that writes `item`, replacing any item with its key.
    fn put<T: Serialize>(&self, item: &T) -> Result<TransactWriteItem> {
        self.put_action(item, None)
    }

    fn put_action<T: Serialize>(&self, item: &T, condition: Option<&str>) -> Result<TransactWriteItem> {
        let mut put = aws_sdk_dynamodb::types::Put::builder().table_name(&self.name).set_item(Some(to_item(item)?));
        if let Some(condition) = condition {
            put = put.condition_expression(condition).expression_attribute_names("#pk", model::PK);
        }
        Ok(TransactWriteItem::builder().put(put.build().context("put action")?).build())
    }
}
