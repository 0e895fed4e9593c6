//! Rate windows: one counter item per (limit, subject, window), raised by one
//! conditional update, so a limit holds across every Lambda instance with no
//! read-then-write race: alone (`UpdateItem`), or as one action of the
//! transaction of the write it limits.

use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem, Update};

use super::{Table, TransactOutcome, to_item};
use crate::error::{Context as _, Result};
use crate::limits::Count;
use crate::store::model;

const RAISE: &str = "ADD #count :one SET #ttl = :ttl";
const BELOW_MAX: &str = "attribute_not_exists(#count) OR #count < :max";

/// The window's conditional raise of `count` in `table`, set on a builder:
/// an `UpdateItem`'s or a transaction's `Update` (the same setters).
macro_rules! raise_window {
    ($builder:expr, $table:expr, $count:expr) => {
        $builder
            .table_name(&$table.name)
            .set_key(Some(to_item(&$count.key)?))
            .update_expression(RAISE)
            .condition_expression(BELOW_MAX)
            .set_expression_attribute_names(Some(names()))
            .set_expression_attribute_values(Some(values($count)))
    };
}

impl Table {
    /// Makes `count` alone: `true` when counted (the call may go ahead),
    /// `false` when the window is full (nothing was written).
    pub async fn count_in_window(&self, count: &Count) -> Result<bool> {
        let counted = raise_window!(self.client.update_item(), self, count).send().await;
        match counted {
            Ok(_) => Ok(true),
            Err(error) if error.as_service_error().is_some_and(|e| e.is_conditional_check_failed_exception()) => {
                Ok(false)
            }
            Err(error) => Err(error).context("count a call in its rate window"),
        }
    }

    /// Runs the transaction `actions` with `count` (if any) as its last
    /// action: [`Count::refused`] when the window is full, whatever else
    /// failed (the limit is answered first, as when it is counted alone);
    /// otherwise the outcome of `actions`, by their own indexes.
    pub(super) async fn transact_counted(
        &self,
        mut actions: Vec<TransactWriteItem>,
        count: Option<&Count>,
        what: &'static str,
    ) -> Result<TransactOutcome> {
        let Some(count) = count else { return self.transact(actions, what).await };
        let index = actions.len();
        let update = raise_window!(Update::builder(), self, count).build().context("rate window action")?;
        actions.push(TransactWriteItem::builder().update(update).build());
        match self.transact(actions, what).await? {
            TransactOutcome::ConditionFailed(failed) if failed.contains(&index) => Err(count.refused()),
            outcome => Ok(outcome),
        }
    }
}

fn names() -> std::collections::HashMap<String, String> {
    [("#count", model::RATE_COUNT_ATTR), ("#ttl", model::TTL)].map(|(k, v)| (k.to_owned(), v.to_owned())).into()
}

fn values(count: &Count) -> std::collections::HashMap<String, AttributeValue> {
    [(":one", 1), (":max", count.max), (":ttl", count.expires_at)]
        .map(|(k, v)| (k.to_owned(), AttributeValue::N(v.to_string())))
        .into()
}
