//! Unique ids below 2^53 across any number of concurrent Lambda instances.
//!
//! Each instance reserves a block of ids with one atomic `ADD` on a counter item
//! and hands them out from memory; the next block is reserved when this one runs
//! out. Two instances can never hold overlapping blocks, so ids are unique by
//! construction, not by probability. The cost is one small write per block.

use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use tokio::sync::Mutex;

use super::model::{self, IdCounterItem};
use super::{Table, from_item, to_item};
use crate::domain::MAX_SAFE_INTEGER;
use crate::error::{Context as _, Error, Result};

/// Hands out ids from reserved blocks.
#[derive(Debug)]
pub struct IdAllocator {
    table: Table,
    block: u64,
    /// The next id to hand out and the end (exclusive) of the reserved block.
    reserved: Mutex<(u64, u64)>,
}

impl IdAllocator {
    /// An allocator reserving `block` ids at a time.
    pub fn new(table: Table, block: u64) -> IdAllocator {
        IdAllocator { table, block: block.max(1), reserved: Mutex::new((0, 0)) }
    }

    /// A fresh id, unique across all instances, in `1..2^53`.
    pub async fn next(&self) -> Result<u64> {
        let mut reserved = self.reserved.lock().await;
        self.hold_a_block(&mut reserved).await?;
        let id = reserved.0;
        reserved.0 += 1;
        Ok(id)
    }

    /// Reserves a block now unless one is held: a function's init, so that
    /// its first request hands out an id without a round trip. A block
    /// reserved and never used is a gap in the ids, nothing more.
    pub async fn reserve_ahead(&self) -> Result<()> {
        self.hold_a_block(&mut *self.reserved.lock().await).await
    }

    async fn hold_a_block(&self, reserved: &mut (u64, u64)) -> Result<()> {
        if reserved.0 >= reserved.1 {
            let high = self.reserve().await?;
            *reserved = (high - self.block + 1, high + 1);
        }
        Ok(())
    }

    /// Raises the counter by one block; returns the block's last id.
    async fn reserve(&self) -> Result<u64> {
        let output = self
            .table
            .client
            .update_item()
            .table_name(&self.table.name)
            .set_key(Some(to_item(&model::id_counter_key())?))
            .update_expression("ADD #next :block")
            .expression_attribute_names("#next", model::ID_COUNTER_ATTR)
            .expression_attribute_values(":block", AttributeValue::N(self.block.to_string()))
            .return_values(ReturnValue::UpdatedNew)
            .send()
            .await
            .context("reserve id block")?;
        let counter: IdCounterItem = from_item(output.attributes.unwrap_or_default())?;
        if counter.next_id > MAX_SAFE_INTEGER {
            return Err(Error::Internal(anyhow::anyhow!("id space exhausted")));
        }
        Ok(counter.next_id)
    }
}
