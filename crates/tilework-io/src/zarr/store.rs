//! A store adapter that makes every write atomic: the value goes to a temporary key in the same
//! directory and is renamed over the final key.
//!
//! `zarrs`' `FilesystemStore::set` opens the final file, truncates it and writes in place, so a
//! process killed mid-write leaves a truncated chunk that later reads fail on. `zarrs_storage`
//! has an `AtomicWriteStorageAdapter`, but its temporary name is fixed (`<key>.tmp`), it refuses to
//! write while such a file exists (so one crash blocks that chunk until someone deletes the file
//! by hand), and it leaves the partial temporary behind when the write fails. This adapter picks a
//! fresh temporary name per write, removes it on failure, and hides temporaries from listings.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use zarrs::storage::byte_range::ByteRangeIterator;
use zarrs::storage::{
    AtomicRenameStorageTraits, Bytes, ListableStorageTraits, MaybeBytesIterator,
    OffsetBytesIterator, ReadableStorageTraits, StorageError, StoreKey, StoreKeys,
    StoreKeysPrefixes, StorePrefix, WritableStorageTraits, store_set_partial_many,
};

/// Marks temporary names: a dot (hidden, and never the start of a Zarr chunk or metadata key)
/// followed by the final name and this tag.
const TEMPORARY_TAG: &str = ".tilework-partial-";

/// Makes temporary names unique within the process; the process id separates processes.
static NEXT_TEMPORARY: AtomicU64 = AtomicU64::new(0);

/// Wraps a store whose `rename` is atomic (e.g. `zarrs`' `FilesystemStore`) so that `set` never
/// exposes a partly written value: readers see the old value or the new one, and a run killed
/// mid-write leaves at most a hidden temporary file (`.<name>.tilework-partial-<pid>-<n>`) that
/// no chunk key can match and that listings through this adapter skip.
#[derive(Debug)]
pub struct AtomicRenameStore<S: ?Sized> {
    inner: Arc<S>,
}

impl<S: ?Sized> AtomicRenameStore<S> {
    /// Wraps `inner`.
    pub fn new(inner: Arc<S>) -> Self {
        AtomicRenameStore { inner }
    }

    /// The wrapped store.
    pub fn inner(&self) -> &Arc<S> {
        &self.inner
    }
}

/// True for the temporary keys this adapter writes.
pub(crate) fn is_temporary_key(key: &str) -> bool {
    let name = key.rsplit('/').next().unwrap_or(key);
    name.starts_with('.') && name.contains(TEMPORARY_TAG)
}

/// A fresh temporary key in the directory of `key`.
fn temporary_key_for(key: &StoreKey) -> Result<StoreKey, StorageError> {
    let (directory, name) = match key.as_str().rsplit_once('/') {
        Some((directory, name)) => (format!("{directory}/"), name),
        None => (String::new(), key.as_str()),
    };
    let serial = NEXT_TEMPORARY.fetch_add(1, Ordering::Relaxed);
    let pid = std::process::id();
    Ok(StoreKey::new(format!(
        "{directory}.{name}{TEMPORARY_TAG}{pid}-{serial}"
    ))?)
}

impl<S> ReadableStorageTraits for AtomicRenameStore<S>
where
    S: ?Sized + ReadableStorageTraits,
{
    fn get_partial_many<'a>(
        &'a self,
        key: &StoreKey,
        byte_ranges: ByteRangeIterator<'a>,
    ) -> Result<MaybeBytesIterator<'a>, StorageError> {
        self.inner.get_partial_many(key, byte_ranges)
    }

    fn size_key(&self, key: &StoreKey) -> Result<Option<u64>, StorageError> {
        self.inner.size_key(key)
    }

    fn supports_get_partial(&self) -> bool {
        self.inner.supports_get_partial()
    }
}

impl<S> ListableStorageTraits for AtomicRenameStore<S>
where
    S: ?Sized + ListableStorageTraits,
{
    fn list(&self) -> Result<StoreKeys, StorageError> {
        Ok(without_temporaries(self.inner.list()?))
    }

    fn list_prefix(&self, prefix: &StorePrefix) -> Result<StoreKeys, StorageError> {
        Ok(without_temporaries(self.inner.list_prefix(prefix)?))
    }

    fn list_dir(&self, prefix: &StorePrefix) -> Result<StoreKeysPrefixes, StorageError> {
        let listing = self.inner.list_dir(prefix)?;
        let keys = without_temporaries(listing.keys().clone());
        Ok(StoreKeysPrefixes::new(keys, listing.prefixes().clone()))
    }

    fn size_prefix(&self, prefix: &StorePrefix) -> Result<u64, StorageError> {
        self.inner.size_prefix(prefix)
    }
}

fn without_temporaries(mut keys: StoreKeys) -> StoreKeys {
    keys.retain(|key| !is_temporary_key(key.as_str()));
    keys
}

impl<S> WritableStorageTraits for AtomicRenameStore<S>
where
    S: ?Sized + ReadableStorageTraits + WritableStorageTraits + AtomicRenameStorageTraits + 'static,
{
    fn set(&self, key: &StoreKey, value: Bytes) -> Result<(), StorageError> {
        let temporary = temporary_key_for(key)?;
        let written = self
            .inner
            .set(&temporary, value)
            .and_then(|()| self.inner.rename(&temporary, key));
        if written.is_err() {
            // Best effort: the write already failed, and a leftover temporary is harmless (hidden
            // from chunk keys and listings), only wasted space.
            let _ = self.inner.erase(&temporary);
        }
        written
    }

    fn set_partial_many(
        &self,
        key: &StoreKey,
        offset_values: OffsetBytesIterator,
    ) -> Result<(), StorageError> {
        // Patching in place is what breaks atomicity, so rebuild the whole value and `set` it.
        store_set_partial_many(self, key, offset_values)
    }

    fn erase(&self, key: &StoreKey) -> Result<(), StorageError> {
        self.inner.erase(key)
    }

    fn erase_prefix(&self, prefix: &StorePrefix) -> Result<(), StorageError> {
        self.inner.erase_prefix(prefix)
    }

    fn supports_set_partial(&self) -> bool {
        false
    }
}
