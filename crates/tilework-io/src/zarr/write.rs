//! [`ZarrWriter`]: creates a Zarr v3 array and stores it chunk by chunk.

use super::destination::{self, COMPLETE_KEY, COMPLETION_ATTRIBUTE};
use super::dtype::{data_type_of, fill_value_of};
use super::options::{ZarrWriteOptions, compression_codecs};
use super::store::AtomicRenameStore;
use super::{ReadableWritableListableStorage, chunk_error, chunk_size_problem, to_u64};
use crate::io_error;
use ndarray::{ArcArray, ArrayD, IxDyn, Slice};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use tilework_core::{
    ChunkWriter, DType, Error, HostArray, HostElement, Region, Result, Scalar, with_host_array,
};
use zarrs::array::codec::BytesCodec;
use zarrs::array::{Array, ArrayBuilder, ArrayMetadata, CodecOptions, Element, Endianness};
use zarrs::filesystem::FilesystemStore;
use zarrs::storage::{ReadableWritableListableStorageTraits, StoreKey};

/// A Zarr v3 array being written chunk by chunk, from any number of threads at once.
///
/// [`prepare`](Self::prepare) checks every argument and the destination without writing
/// anything; [`begin`](ChunkWriter::begin) (or the first chunk written) clears the destination
/// and stores the metadata, which records the array as incomplete; [`finish`](ChunkWriter::finish)
/// records it complete. [`create`](Self::create) is `prepare` then `begin`.
///
/// Every chunk is encoded, written under a temporary name next to its final key and renamed
/// into place, so a run killed at any moment leaves only complete chunks; the chunks it never
/// reached read as the fill value and are listed by
/// [`ZarrReader::missing_chunks`](super::ZarrReader::missing_chunks).
pub struct ZarrWriter {
    location: String,
    /// The store chunks are written through (atomic renames for a directory).
    array: Array<dyn ReadableWritableListableStorageTraits>,
    /// The store as it is, temporaries visible, for clearing the destination.
    raw_store: ReadableWritableListableStorage,
    array_path: String,
    /// The directory to create first, for an array on the filesystem.
    directory: Option<PathBuf>,
    /// Whether the destination may hold a Zarr array to replace.
    overwrite: bool,
    /// Set once the destination is cleared and the metadata stored.
    begun: Mutex<bool>,
    dtype: DType,
    shape: Vec<usize>,
    chunk_shape: Vec<usize>,
    fill_value: Scalar,
    options: CodecOptions,
}

impl fmt::Debug for ZarrWriter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ZarrWriter")
            .field("location", &self.location)
            .field("dtype", &self.dtype)
            .field("shape", &self.shape)
            .field("chunk_shape", &self.chunk_shape)
            .finish()
    }
}

impl ZarrWriter {
    /// Creates a Zarr v3 array in directory `path` (created if needed) and writes its metadata:
    /// [`prepare`](Self::prepare), then [`begin`](ChunkWriter::begin).
    ///
    /// # Errors
    /// As [`prepare`](Self::prepare) and [`begin`](ChunkWriter::begin).
    pub fn create(
        path: impl AsRef<Path>,
        dtype: DType,
        shape: &[usize],
        chunk_shape: &[usize],
        options: &ZarrWriteOptions,
    ) -> Result<ZarrWriter> {
        let writer = Self::prepare(path, dtype, shape, chunk_shape, options)?;
        writer.begin()?;
        Ok(writer)
    }

    /// Checks the arguments and the destination directory `path` for a new Zarr v3 array,
    /// writing nothing: the directory and the metadata appear at [`begin`](ChunkWriter::begin)
    /// or the first chunk written.
    ///
    /// # Errors
    /// - [`Error::InvalidArgument`] when `shape` and `chunk_shape` differ in length, a chunk
    ///   size is zero, a chunk is too large to hold in memory, or the codec settings are out of
    ///   range.
    /// - [`Error::Io`] naming `path` when it is a file, a directory holding something other
    ///   than a Zarr array, a Zarr array while `options.overwrite` is false, or cannot be read.
    pub fn prepare(
        path: impl AsRef<Path>,
        dtype: DType,
        shape: &[usize],
        chunk_shape: &[usize],
        options: &ZarrWriteOptions,
    ) -> Result<ZarrWriter> {
        let path = path.as_ref();
        let location = path.display().to_string();
        let plan = Plan::new(&location, dtype, shape, chunk_shape, options)?;
        if path.exists() && !path.is_dir() {
            return Err(io_error(&location, "exists and is not a directory"));
        }
        let raw: Arc<FilesystemStore> =
            Arc::new(FilesystemStore::new(path).map_err(|err| io_error(&location, err))?);
        let store = Arc::new(AtomicRenameStore::new(raw.clone()));
        let mut writer = Self::prepare_at(store, raw, "/", location, plan)?;
        writer.directory = Some(path.to_path_buf());
        Ok(writer)
    }

    /// Same as [`create`](Self::create), for the array at `array_path` (e.g. `"/"`) of any
    /// `zarrs` store: a `MemoryStore`, or a store of your own.
    ///
    /// Chunks are stored with one `set` call each, so they are only as atomic as the store's
    /// `set`: wrap a store that writes in place in an [`AtomicRenameStore`].
    ///
    /// # Errors
    /// As [`create`](Self::create), naming `array_path`.
    pub fn create_in_store(
        store: ReadableWritableListableStorage,
        array_path: &str,
        dtype: DType,
        shape: &[usize],
        chunk_shape: &[usize],
        options: &ZarrWriteOptions,
    ) -> Result<ZarrWriter> {
        let location = array_path.to_string();
        let plan = Plan::new(&location, dtype, shape, chunk_shape, options)?;
        let writer = Self::prepare_at(store.clone(), store, array_path, location, plan)?;
        writer.begin()?;
        Ok(writer)
    }

    fn prepare_at(
        store: ReadableWritableListableStorage,
        raw_store: ReadableWritableListableStorage,
        array_path: &str,
        location: String,
        plan: Plan,
    ) -> Result<ZarrWriter> {
        let array = plan
            .builder
            .build(store, array_path)
            .map_err(|err| io_error(&location, format!("cannot create Zarr array: {err}")))?;
        destination::inspect(&raw_store, array_path, &location, plan.overwrite)?;
        Ok(ZarrWriter {
            location,
            array,
            raw_store,
            array_path: array_path.to_string(),
            directory: None,
            overwrite: plan.overwrite,
            begun: Mutex::new(false),
            dtype: plan.dtype,
            shape: plan.shape,
            chunk_shape: plan.chunk_shape,
            fill_value: plan.fill_value,
            // A chunk that happens to equal the fill value is still stored, so that
            // `missing_chunks` lists exactly the chunks an interrupted run did not write.
            options: CodecOptions::default().with_store_empty_chunks(true),
        })
    }

    /// Stores the metadata with the completion record set to `complete`.
    fn store_metadata(&self, complete: bool) -> Result<()> {
        let mut metadata = self.array.metadata().clone();
        let record = serde_json::json!({ COMPLETE_KEY: complete });
        match &mut metadata {
            ArrayMetadata::V3(v3) => {
                v3.attributes
                    .insert(COMPLETION_ATTRIBUTE.to_string(), record);
            }
            ArrayMetadata::V2(v2) => {
                v2.attributes
                    .insert(COMPLETION_ATTRIBUTE.to_string(), record);
            }
        }
        let array = Array::new_with_metadata(self.array.storage(), &self.array_path, metadata)
            .map_err(|err| io_error(&self.location, format!("cannot update zarr.json: {err}")))?;
        array
            .store_metadata()
            .map_err(|err| io_error(&self.location, format!("cannot write zarr.json: {err}")))
    }

    /// Checks that `region` is a block of whole chunks inside the array.
    fn check_region(&self, region: &Region) -> Result<()> {
        let ndim = self.shape.len();
        let aligned = region.start.len() == ndim
            && region.shape.len() == ndim
            && (0..ndim).all(|axis| {
                let start = region.start[axis];
                let end = start.checked_add(region.shape[axis]);
                let chunk = self.chunk_shape[axis];
                end.is_some_and(|end| {
                    end <= self.shape[axis]
                        && start.is_multiple_of(chunk)
                        && (end.is_multiple_of(chunk) || end == self.shape[axis])
                })
            });
        if aligned {
            Ok(())
        } else {
            Err(Error::bad_index(
                "zarr write",
                format!(
                    "region start {:?} shape {:?} is not a block of whole chunks {:?} inside zarr \
                     array {} of shape {:?}",
                    region.start, region.shape, self.chunk_shape, self.location, self.shape
                ),
            ))
        }
    }

    fn write_typed<T: Element + HostElement>(
        &self,
        region: &Region,
        data: &ArcArray<T, IxDyn>,
    ) -> Result<()> {
        let chunk_counts: Vec<usize> = (0..region.start.len())
            .map(|axis| region.shape[axis].div_ceil(self.chunk_shape[axis]))
            .collect();
        for offset in ndarray::indices(IxDyn(&chunk_counts)) {
            let chunk_index: Vec<u64> = (0..chunk_counts.len())
                .map(|axis| (region.start[axis] / self.chunk_shape[axis] + offset[axis]) as u64)
                .collect();
            let piece = data.slice_each_axis(|axis| {
                let axis_index = axis.axis.index();
                let start = offset[axis_index] * self.chunk_shape[axis_index];
                let end = (start + self.chunk_shape[axis_index]).min(region.shape[axis_index]);
                Slice::from(start..end)
            });
            let key: StoreKey = self.array.chunk_key(&chunk_index);
            let stored = if piece.shape() == self.chunk_shape.as_slice() {
                self.array
                    .store_chunk_opt(&chunk_index, &piece, &self.options)
            } else {
                // Zarr stores edge chunks at full size, the part beyond the array's end filled
                // with the fill value (as zarr-python does).
                let mut padded =
                    ArrayD::from_elem(IxDyn(&self.chunk_shape), T::from_scalar(self.fill_value));
                padded
                    .slice_each_axis_mut(|axis| Slice::from(0..piece.shape()[axis.axis.index()]))
                    .assign(&piece);
                self.array
                    .store_chunk_opt(&chunk_index, &padded, &self.options)
            };
            stored.map_err(|err| chunk_error(&self.location, &chunk_index, &key, err))?;
        }
        Ok(())
    }
}

impl ChunkWriter for ZarrWriter {
    fn describe(&self) -> String {
        format!("zarr array {}", self.location)
    }

    /// Creates the directory, replaces an old array when `overwrite` allows, removes stale
    /// temporaries of killed writes, and stores the metadata marked incomplete. Runs once; later
    /// calls do nothing.
    ///
    /// # Errors
    /// [`Error::Io`] naming the destination when it changed since [`ZarrWriter::prepare`] into
    /// something that may not be replaced, or cannot be written.
    fn begin(&self) -> Result<()> {
        let mut begun = self.begun.lock().unwrap_or_else(|p| p.into_inner());
        if *begun {
            return Ok(());
        }
        if let Some(directory) = &self.directory {
            std::fs::create_dir_all(directory).map_err(|err| {
                io_error(&self.location, format!("cannot create directory: {err}"))
            })?;
        }
        destination::clear(
            &self.raw_store,
            &self.array_path,
            &self.location,
            self.overwrite,
        )?;
        self.store_metadata(false)?;
        *begun = true;
        Ok(())
    }

    /// Records in the metadata that every chunk was written.
    ///
    /// # Errors
    /// [`Error::Io`] when the metadata cannot be rewritten.
    fn finish(&self) -> Result<()> {
        self.begin()?;
        self.store_metadata(true)
    }

    fn write(&self, region: &Region, data: &HostArray) -> Result<()> {
        self.check_region(region)?;
        self.begin()?;
        if data.dtype() != self.dtype {
            return Err(Error::DTypeMismatch {
                expected: self.dtype,
                actual: data.dtype(),
            });
        }
        if data.shape() != region.shape {
            return Err(Error::ShapeMismatch {
                op: "zarr write",
                lhs: data.shape(),
                rhs: region.shape.clone(),
            });
        }
        with_host_array!(data, array, _T => self.write_typed(region, array))
    }
}

/// A checked request to create an array: everything but the destination.
struct Plan {
    builder: ArrayBuilder,
    dtype: DType,
    shape: Vec<usize>,
    chunk_shape: Vec<usize>,
    fill_value: Scalar,
    overwrite: bool,
}

impl Plan {
    /// Checks the arguments, before anything is written: shapes that cannot make an array and
    /// codec settings out of range are refused here.
    fn new(
        location: &str,
        dtype: DType,
        shape: &[usize],
        chunk_shape: &[usize],
        options: &ZarrWriteOptions,
    ) -> Result<Plan> {
        if shape.len() != chunk_shape.len() {
            return Err(Error::invalid(
                "zarr create",
                format!(
                    "{location}: chunk shape {chunk_shape:?} has {} axes but shape {shape:?} has {}",
                    chunk_shape.len(),
                    shape.len()
                ),
            ));
        }
        if chunk_shape.contains(&0) {
            return Err(Error::invalid(
                "zarr create",
                format!("{location}: chunk shape {chunk_shape:?} has a zero size"),
            ));
        }
        if let Some(problem) = chunk_size_problem(chunk_shape, dtype) {
            return Err(Error::invalid(
                "zarr create",
                format!("{location}: {problem}"),
            ));
        }
        let fill_value = options.fill_value.unwrap_or(Scalar::zero(dtype));
        let mut builder = ArrayBuilder::new(
            to_u64(shape),
            to_u64(chunk_shape),
            data_type_of(dtype),
            fill_value_of(fill_value, dtype),
        );
        builder
            .array_to_bytes_codec(Arc::new(BytesCodec::new(Some(Endianness::Little))))
            .bytes_to_bytes_codecs(compression_codecs(&options.codec, dtype)?);
        Ok(Plan {
            builder,
            dtype,
            shape: shape.to_vec(),
            chunk_shape: chunk_shape.to_vec(),
            fill_value,
            overwrite: options.overwrite,
        })
    }
}
