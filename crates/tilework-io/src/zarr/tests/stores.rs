//! Writes that fail part-way (full disk, read-only destination) and leftovers of interrupted
//! writes: only complete chunks are ever visible.

use super::super::store::is_temporary_key;
use super::super::{AtomicRenameStore, Codec, ZarrReader, ZarrWriteOptions, ZarrWriter};
use super::{TempDir, region};
use std::sync::{Arc, Mutex};
use tilework_core::{ChunkReader, ChunkWriter, DType, HostArray, Result, Scalar};
use zarrs::storage::byte_range::ByteRangeIterator;
use zarrs::storage::store::MemoryStore;
use zarrs::storage::{
    AtomicRenameStorageTraits, Bytes, ListableStorageTraits, MaybeBytesIterator,
    OffsetBytesIterator, ReadableStorageTraits, StorageError, StoreKey, StoreKeys,
    StoreKeysPrefixes, StorePrefix, WritableStorageTraits,
};

/// A memory store with room for `remaining` more bytes. A `set` that does not fit writes what
/// fits (as a file system does) and fails like a full disk.
#[derive(Debug)]
struct DiskFullStore {
    inner: MemoryStore,
    remaining: Mutex<usize>,
}

impl DiskFullStore {
    fn new(remaining: usize) -> DiskFullStore {
        DiskFullStore {
            inner: MemoryStore::new(),
            remaining: Mutex::new(remaining),
        }
    }

    fn set_remaining(&self, bytes: usize) {
        *self.remaining.lock().expect("lock") = bytes;
    }

    fn keys(&self) -> Vec<String> {
        let keys = self.inner.list().expect("list");
        keys.iter().map(|key| key.as_str().to_string()).collect()
    }
}

impl ReadableStorageTraits for DiskFullStore {
    fn get_partial_many<'a>(
        &'a self,
        key: &StoreKey,
        byte_ranges: ByteRangeIterator<'a>,
    ) -> std::result::Result<MaybeBytesIterator<'a>, StorageError> {
        self.inner.get_partial_many(key, byte_ranges)
    }

    fn size_key(&self, key: &StoreKey) -> std::result::Result<Option<u64>, StorageError> {
        self.inner.size_key(key)
    }

    fn supports_get_partial(&self) -> bool {
        self.inner.supports_get_partial()
    }
}

impl ListableStorageTraits for DiskFullStore {
    fn list(&self) -> std::result::Result<StoreKeys, StorageError> {
        self.inner.list()
    }

    fn list_prefix(&self, prefix: &StorePrefix) -> std::result::Result<StoreKeys, StorageError> {
        self.inner.list_prefix(prefix)
    }

    fn list_dir(
        &self,
        prefix: &StorePrefix,
    ) -> std::result::Result<StoreKeysPrefixes, StorageError> {
        self.inner.list_dir(prefix)
    }

    fn size_prefix(&self, prefix: &StorePrefix) -> std::result::Result<u64, StorageError> {
        self.inner.size_prefix(prefix)
    }
}

impl WritableStorageTraits for DiskFullStore {
    fn set(&self, key: &StoreKey, value: Bytes) -> std::result::Result<(), StorageError> {
        let mut remaining = self.remaining.lock().expect("lock");
        if value.len() <= *remaining {
            *remaining -= value.len();
            return self.inner.set(key, value);
        }
        let partial = value.slice(..*remaining);
        *remaining = 0;
        self.inner.set(key, partial)?;
        let full = std::io::Error::new(std::io::ErrorKind::StorageFull, "No space left on device");
        Err(StorageError::IOError(Arc::new(full)))
    }

    fn set_partial_many(
        &self,
        _key: &StoreKey,
        _offset_values: OffsetBytesIterator,
    ) -> std::result::Result<(), StorageError> {
        Err(StorageError::Unsupported("partial writes".into()))
    }

    fn erase(&self, key: &StoreKey) -> std::result::Result<(), StorageError> {
        self.inner.erase(key)
    }

    fn erase_prefix(&self, prefix: &StorePrefix) -> std::result::Result<(), StorageError> {
        self.inner.erase_prefix(prefix)
    }

    fn supports_set_partial(&self) -> bool {
        false
    }
}

impl AtomicRenameStorageTraits for DiskFullStore {
    fn rename(&self, from: &StoreKey, to: &StoreKey) -> std::result::Result<(), StorageError> {
        let value = self
            .inner
            .get(from)?
            .ok_or_else(|| StorageError::Other(format!("no key {from}")))?;
        self.inner.set(to, value)?;
        self.inner.erase(from)
    }
}

#[test]
fn a_full_disk_fails_the_write_and_leaves_no_partial_chunk() -> Result<()> {
    let disk = Arc::new(DiskFullStore::new(usize::MAX));
    let store = Arc::new(AtomicRenameStore::new(disk.clone()));
    let options = ZarrWriteOptions {
        codec: Codec::None,
        ..ZarrWriteOptions::default()
    };
    let writer = ZarrWriter::create_in_store(
        store.clone(),
        "/data/x",
        DType::F64,
        &[8, 8],
        &[4, 4],
        &options,
    )?;
    assert_eq!(writer.describe(), "zarr array /data/x");
    // Room for two chunks of 4 * 4 * 8 = 128 bytes and part of a third.
    disk.set_remaining(2 * 128 + 50);
    let chunk = HostArray::full(DType::F64, &[4, 4], Scalar::F64(1.5));
    writer.write(&region(&[0, 0], &[4, 4]), &chunk)?;
    writer.write(&region(&[0, 4], &[4, 4]), &chunk)?;
    let err = writer
        .write(&region(&[4, 0], &[4, 4]), &chunk)
        .expect_err("disk full");
    let message = err.to_string();
    assert!(message.contains("/data/x"), "{message}");
    assert!(
        message.contains("[1, 0]") && message.contains("data/x/c/1/0"),
        "{message}"
    );
    assert!(message.contains("No space left"), "{message}");

    let keys = disk.keys();
    assert!(!keys.contains(&"data/x/c/1/0".to_string()), "{keys:?}");
    assert!(!keys.iter().any(|key| is_temporary_key(key)), "{keys:?}");
    let reader = ZarrReader::open_in_store(store, "/data/x")?;
    assert_eq!(reader.missing_chunks()?, vec![vec![1, 0], vec![1, 1]]);
    let read = reader.read(&region(&[0, 0], &[8, 8]))?;
    let read = read.typed::<f64>()?;
    assert_eq!(read[[0, 7]], 1.5);
    assert_eq!(
        read[[4, 0]],
        0.0,
        "the failed chunk reads as the fill value"
    );
    Ok(())
}

#[test]
fn a_full_disk_while_writing_metadata_fails_create() {
    let disk = Arc::new(DiskFullStore::new(10));
    let store = Arc::new(AtomicRenameStore::new(disk.clone()));
    let err = ZarrWriter::create_in_store(
        store,
        "/",
        DType::U8,
        &[4],
        &[2],
        &ZarrWriteOptions::default(),
    )
    .expect_err("no room for zarr.json");
    assert!(err.to_string().contains("zarr.json"), "{err}");
    assert!(disk.keys().is_empty(), "{:?}", disk.keys());
}

#[test]
fn memory_stores_work_without_the_adapter() -> Result<()> {
    let store = Arc::new(MemoryStore::new());
    let writer = ZarrWriter::create_in_store(
        store.clone(),
        "/",
        DType::Bool,
        &[5],
        &[2],
        &ZarrWriteOptions::default(),
    )?;
    let data = HostArray::from_vec(vec![true, false, true, true, false], &[5])?;
    writer.write(&region(&[0], &[5]), &data)?;
    let reader = ZarrReader::open_in_store(store, "/")?;
    assert_eq!(
        reader.read(&region(&[0], &[5]))?.typed::<bool>()?,
        data.typed::<bool>()?
    );
    Ok(())
}

#[test]
fn leftovers_of_interrupted_writes_are_not_chunks() -> Result<()> {
    let dir = TempDir::new("leftovers");
    let path = dir.join("a.zarr");
    let writer = ZarrWriter::create(
        &path,
        DType::F32,
        &[4, 4],
        &[2, 2],
        &ZarrWriteOptions::default(),
    )?;
    writer.write(
        &region(&[2, 2], &[2, 2]),
        &HostArray::full(DType::F32, &[2, 2], Scalar::F32(3.0)),
    )?;
    // What a killed writer can leave: our own temporary, and a foreign `.tmp`.
    std::fs::create_dir_all(path.join("c/0")).expect("mkdir");
    std::fs::write(path.join("c/0/.0.tilework-partial-1-1"), b"half a chunk").expect("write");
    std::fs::write(path.join("c/0/0.tmp"), b"junk").expect("write");
    let reader = ZarrReader::open(&path)?;
    assert_eq!(
        reader.missing_chunks()?,
        vec![vec![0, 0], vec![0, 1], vec![1, 0]]
    );
    let read = reader.read(&region(&[0, 0], &[4, 4]))?;
    assert_eq!(read.typed::<f32>()?.sum(), 12.0);
    // Writing the chunk now works despite the leftovers, and leaves no temporary of its own.
    writer.write(
        &region(&[0, 0], &[2, 2]),
        &HostArray::full(DType::F32, &[2, 2], Scalar::F32(1.0)),
    )?;
    let names: Vec<String> = std::fs::read_dir(path.join("c/0"))
        .expect("ls")
        .map(|entry| {
            entry
                .expect("entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    assert_eq!(
        names.iter().filter(|n| is_temporary_key(n)).count(),
        1,
        "{names:?}"
    );
    assert_eq!(reader.missing_chunks()?, vec![vec![0, 1], vec![1, 0]]);
    Ok(())
}

#[test]
fn unwritable_destinations_fail_create() {
    let dir = TempDir::new("unwritable");
    // Under a regular file: fails for every user, root included.
    let file = dir.join("some_file");
    std::fs::write(&file, b"x").expect("write");
    let err = ZarrWriter::create(
        file.join("array.zarr"),
        DType::F32,
        &[4],
        &[2],
        &ZarrWriteOptions::default(),
    )
    .expect_err("under a file");
    assert!(err.to_string().contains("some_file/array.zarr"), "{err}");

    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let locked = dir.join("locked");
        std::fs::create_dir(&locked).expect("mkdir");
        std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o555)).expect("chmod");
        // Root ignores directory permissions; check the directory really refuses writes first.
        let probe = locked.join("probe");
        if std::fs::write(&probe, b"x").is_ok() {
            eprintln!("skipped the chmod 0o555 case: this user can write there anyway (root?)");
            return;
        }
        let target = locked.join("array.zarr");
        let err = ZarrWriter::create(
            &target,
            DType::F32,
            &[4],
            &[2],
            &ZarrWriteOptions::default(),
        )
        .expect_err("read-only parent");
        assert!(err.to_string().contains("locked/array.zarr"), "{err}");
    }
}
