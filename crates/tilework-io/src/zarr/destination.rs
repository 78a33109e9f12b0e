//! Where a new Zarr array goes: what may be replaced there, and the completion record.
//!
//! Checking the destination is split from clearing it so that a writer can be prepared (every
//! argument and the destination checked) before a computation is planned, and nothing is
//! written until the plan has been accepted.

use super::ReadableWritableListableStorage;
use super::store::is_temporary_key;
use crate::io_error;
use tilework_core::Result;
use zarrs::node::{Node, NodeMetadata};
use zarrs::storage::{StoreKey, StorePrefix};

/// The attribute under which tilework records whether every chunk of an array was written.
pub(crate) const COMPLETION_ATTRIBUTE: &str = "tilework";

/// The key of that record, inside the attribute's object.
pub(crate) const COMPLETE_KEY: &str = "complete";

/// What is at the destination now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Occupant {
    /// Nothing that needs removing (hidden temporaries of killed writes do not count).
    Nothing,
    /// A Zarr array that `overwrite` allows replacing.
    ReplaceableArray,
}

/// The store prefix of the array at `array_path`.
pub(crate) fn array_prefix(array_path: &str, location: &str) -> Result<StorePrefix> {
    let path = array_path.trim_start_matches('/').trim_end_matches('/');
    if path.is_empty() {
        Ok(StorePrefix::root())
    } else {
        StorePrefix::new(format!("{path}/")).map_err(|err| io_error(location, err))
    }
}

/// Checks the destination without changing it: nothing there is fine; a Zarr array is fine when
/// `overwrite` allows replacing it; anything else is refused, so a wrong path never deletes
/// unrelated data.
///
/// # Errors
/// [`Error::Io`](tilework_core::Error::Io) naming `location` for a Zarr array without
/// `overwrite`, a group, unreadable metadata, other files, or a store that cannot be inspected.
pub(crate) fn inspect(
    store: &ReadableWritableListableStorage,
    array_path: &str,
    location: &str,
    overwrite: bool,
) -> Result<Occupant> {
    let prefix = array_prefix(array_path, location)?;
    let key = |name: &str| {
        StoreKey::new(format!("{}{name}", prefix.as_str())).map_err(|err| io_error(location, err))
    };
    let storage_error = |err| io_error(location, format!("cannot inspect destination: {err}"));
    let mut has_metadata = false;
    for name in ["zarr.json", ".zarray"] {
        has_metadata |= store
            .size_key(&key(name)?)
            .map_err(storage_error)?
            .is_some();
    }
    if has_metadata {
        let refuse =
            |what: String| io_error(location, format!("{what} is here; refusing to replace it"));
        return match Node::open(store, array_path) {
            Ok(node) if matches!(node.metadata(), NodeMetadata::Array(_)) => {
                if overwrite {
                    Ok(Occupant::ReplaceableArray)
                } else {
                    Err(io_error(
                        location,
                        "a Zarr array already exists here (set `overwrite` to replace it)",
                    ))
                }
            }
            Ok(_) => Err(refuse("a Zarr group".to_string())),
            Err(err) => Err(refuse(format!("Zarr metadata that cannot be read ({err})"))),
        };
    }
    let occupied = store
        .list_prefix(&prefix)
        .map_err(storage_error)?
        .iter()
        .any(|key| !is_temporary_key(key.as_str()));
    if occupied {
        return Err(io_error(
            location,
            "exists and holds something other than a Zarr array; refusing to replace it",
        ));
    }
    Ok(Occupant::Nothing)
}

/// Makes room for the new array: checks the destination again (it may have changed since the
/// writer was prepared), removes a replaceable array, and removes the hidden temporaries that
/// killed writes left (`.*.tilework-partial-*`), which would otherwise stay forever.
///
/// # Errors
/// As [`inspect`], and an [`Error::Io`](tilework_core::Error::Io) when removing fails.
pub(crate) fn clear(
    store: &ReadableWritableListableStorage,
    array_path: &str,
    location: &str,
    overwrite: bool,
) -> Result<()> {
    let prefix = array_prefix(array_path, location)?;
    if inspect(store, array_path, location, overwrite)? == Occupant::ReplaceableArray {
        store
            .erase_prefix(&prefix)
            .map_err(|err| io_error(location, format!("cannot remove the old array: {err}")))?;
    }
    let leftovers = store
        .list_prefix(&prefix)
        .map_err(|err| io_error(location, format!("cannot list the destination: {err}")))?;
    for key in leftovers
        .iter()
        .filter(|key| is_temporary_key(key.as_str()))
    {
        store.erase(key).map_err(|err| {
            io_error(
                location,
                format!("cannot remove the stale temporary '{key}': {err}"),
            )
        })?;
    }
    Ok(())
}
