//! Rate windows: one counter item per (limit, subject, window), raised by one
//! conditional `UpdateItem`, so a limit holds across every Lambda instance with
//! no read-then-write race.

use aws_sdk_dynamodb::types::AttributeValue;

use super::model::{self, Key};
use super::{Table, to_item};
use crate::error::{Context as _, Result};

impl Table {
    /// Counts one call in the window item `key` unless it already holds `max`:
    /// `true` when counted (the call may go ahead), `false` when the window is
    /// full (nothing was written). The item expires at `expires_at` (epoch
    /// seconds, the table's TTL).
    pub async fn count_in_window(&self, key: &Key, max: u64, expires_at: u64) -> Result<bool> {
        let counted = self
            .client
            .update_item()
            .table_name(&self.name)
            .set_key(Some(to_item(key)?))
            .update_expression("ADD #count :one SET #ttl = :ttl")
            .condition_expression("attribute_not_exists(#count) OR #count < :max")
            .expression_attribute_names("#count", model::RATE_COUNT_ATTR)
            .expression_attribute_names("#ttl", model::TTL)
            .expression_attribute_values(":one", AttributeValue::N("1".into()))
            .expression_attribute_values(":max", AttributeValue::N(max.to_string()))
            .expression_attribute_values(":ttl", AttributeValue::N(expires_at.to_string()))
            .send()
            .await;
        match counted {
            Ok(_) => Ok(true),
            Err(error) if error.as_service_error().is_some_and(|e| e.is_conditional_check_failed_exception()) => {
                Ok(false)
            }
            Err(error) => Err(error).context("count a call in its rate window"),
        }
    }
}
