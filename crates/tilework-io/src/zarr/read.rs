//! [`ZarrReader`]: lazy, region-by-region reads of a Zarr array.

use super::decode::decode_chunk;
use super::destination::{COMPLETE_KEY, COMPLETION_ATTRIBUTE};
use super::dtype::{SUPPORTED_DTYPES, dtype_of, scalar_of_fill_value};
use super::listing::{first_missing, grid_chunk_count, stored_chunks};
use super::options::{ZarrCompletion, ZarrReadMode};
use super::{ReadableListableStorage, checked_nbytes, chunk_error, chunk_size_problem, to_usize};
use crate::io_error;
use ndarray::{ArrayD, ArrayViewD, IxDyn, Slice};
use std::fmt;
use std::ops::Range;
use std::path::Path;
use std::sync::Arc;
use tilework_core::{
    ChunkReader, DType, Error, HostArray, HostElement, Region, Result, Scalar, with_dtype,
};
use zarrs::array::{
    Array, ArrayCreateError, ArrayMetadata, CodecOptions, ElementOwned, FromArrayBytes,
};
use zarrs::filesystem::FilesystemStore;
use zarrs::metadata_ext::chunk_grid::regular::RegularChunkGridConfiguration;
use zarrs::storage::{ReadableListableStorageTraits, StoreKey};

/// The most missing chunks [`ZarrReader::missing_chunks`] lists at once; past it, ask for a
/// bounded list with [`ZarrReader::first_missing_chunks`].
pub const MISSING_CHUNKS_LIST_LIMIT: usize = 1 << 20;

/// A Zarr array opened lazily: [`open`](Self::open) reads the metadata only, and each
/// [`read`](ChunkReader::read) decodes just the chunks that overlap the region asked for.
///
/// Safe to share between threads; reads of different regions run in parallel.
pub struct ZarrReader {
    location: String,
    array: Array<dyn ReadableListableStorageTraits>,
    dtype: DType,
    shape: Vec<usize>,
    chunk_shape: Vec<usize>,
    fill_value: Scalar,
    mode: ZarrReadMode,
    completion: ZarrCompletion,
}

impl fmt::Debug for ZarrReader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ZarrReader")
            .field("location", &self.location)
            .field("dtype", &self.dtype)
            .field("shape", &self.shape)
            .field("chunk_shape", &self.chunk_shape)
            .field("fill_value", &self.fill_value)
            .field("mode", &self.mode)
            .field("completion", &self.completion)
            .finish()
    }
}

impl ZarrReader {
    /// Opens the Zarr array stored in directory `path`: a Zarr v3 array (`zarr.json`), or a
    /// Zarr v2 array (`.zarray`) whose codecs `zarrs` can map onto v3. Reads only the metadata.
    ///
    /// # Errors
    /// [`Error::Io`] naming `path` when it does not exist, is not a directory holding a Zarr
    /// array, has metadata that cannot be parsed, an unsupported dtype (see the
    /// [module docs](super)), or a chunk grid that is not regular.
    pub fn open(path: impl AsRef<Path>) -> Result<ZarrReader> {
        let path = path.as_ref();
        let location = path.display().to_string();
        match std::fs::metadata(path) {
            Err(err) => {
                return Err(io_error(
                    &location,
                    format!("cannot open Zarr array: {err}"),
                ));
            }
            Ok(meta) if !meta.is_dir() => {
                return Err(io_error(
                    &location,
                    "not a directory (a Zarr array is a directory holding zarr.json)",
                ));
            }
            Ok(_) => {}
        }
        let store = FilesystemStore::new(path).map_err(|err| io_error(&location, err))?;
        Self::open_at(Arc::new(store), "/", location)
    }

    /// Opens the array at `array_path` (e.g. `"/"` or `"/group/array"`) in any `zarrs` store.
    ///
    /// # Errors
    /// As [`open`](Self::open), naming `array_path`.
    pub fn open_in_store(store: ReadableListableStorage, array_path: &str) -> Result<ZarrReader> {
        Self::open_at(store, array_path, array_path.to_string())
    }

    fn open_at(
        store: ReadableListableStorage,
        array_path: &str,
        location: String,
    ) -> Result<ZarrReader> {
        let array = Array::open(store, array_path).map_err(|err| open_error(err, &location))?;
        let dtype = dtype_of(array.data_type(), &location)?;
        let shape = to_usize(array.shape(), &location, "shape")?;
        let chunk_shape = regular_chunk_shape(array.metadata(), &location)?;
        if chunk_shape.len() != shape.len() {
            return Err(io_error(
                &location,
                format!("chunk shape {chunk_shape:?} does not match shape {shape:?}"),
            ));
        }
        if let Some(problem) = chunk_size_problem(&chunk_shape, dtype) {
            return Err(io_error(&location, problem));
        }
        let fill_value = scalar_of_fill_value(array.fill_value(), dtype, &location)?;
        let completion = match array
            .attributes()
            .get(COMPLETION_ATTRIBUTE)
            .and_then(|record| record.get(COMPLETE_KEY))
            .and_then(|complete| complete.as_bool())
        {
            Some(true) => ZarrCompletion::Complete,
            Some(false) => ZarrCompletion::Incomplete,
            None => ZarrCompletion::Unknown,
        };
        Ok(ZarrReader {
            location,
            array,
            dtype,
            shape,
            chunk_shape,
            fill_value,
            mode: ZarrReadMode::default(),
            completion,
        })
    }

    /// The reader with read mode `mode` (the default is [`ZarrReadMode::FillMissing`]).
    ///
    /// # Errors
    /// [`Error::Io`] naming the array when `mode` is [`ZarrReadMode::Strict`] and its completion
    /// record says the write that produced it did not finish.
    pub fn with_mode(mut self, mode: ZarrReadMode) -> Result<ZarrReader> {
        if mode == ZarrReadMode::Strict && self.completion == ZarrCompletion::Incomplete {
            return Err(io_error(
                &self.location,
                "the write that produced this Zarr array did not finish (its completion \
                 record says incomplete); a strict read refuses it",
            ));
        }
        self.mode = mode;
        Ok(self)
    }

    /// The read mode in force.
    pub fn mode(&self) -> ZarrReadMode {
        self.mode
    }

    /// What the array's metadata says about the write that produced it: tilework records
    /// completion when a `to_zarr` finishes, so an interrupted one can be told from a whole one.
    pub fn completion(&self) -> ZarrCompletion {
        self.completion
    }

    /// The array's shape.
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    /// The array's dtype.
    pub fn dtype(&self) -> DType {
        self.dtype
    }

    /// The shape of every chunk (edge chunks are cut off at the array's end).
    pub fn chunk_shape(&self) -> &[usize] {
        &self.chunk_shape
    }

    /// The value that chunks never written read as.
    pub fn fill_value(&self) -> Scalar {
        self.fill_value
    }

    /// The number of chunks that have no stored value (e.g. an interrupted write never reached
    /// them). One listing of the store: proportional to the chunks present.
    ///
    /// # Errors
    /// [`Error::Io`] when the store cannot be listed.
    pub fn missing_chunk_count(&self) -> Result<u128> {
        let stored = stored_chunks(&self.array, &self.location)?;
        Ok(grid_chunk_count(self.array.chunk_grid_shape()) - stored.len() as u128)
    }

    /// The grid indices (C order) of the first `limit` chunks that have no stored value. They
    /// read as the fill value (or fail in [`ZarrReadMode::Strict`]). Visits at most the chunks
    /// present plus `limit`, so it is fast on any grid.
    ///
    /// # Errors
    /// [`Error::Io`] when the store cannot be listed.
    pub fn first_missing_chunks(&self, limit: usize) -> Result<Vec<Vec<usize>>> {
        let stored = stored_chunks(&self.array, &self.location)?;
        self.missing_among(&stored, limit)
    }

    /// The grid indices (C order) of every chunk that has no stored value.
    ///
    /// # Errors
    /// [`Error::Io`] when the store cannot be listed, or when more than
    /// [`MISSING_CHUNKS_LIST_LIMIT`] chunks are missing (use
    /// [`first_missing_chunks`](Self::first_missing_chunks) or
    /// [`missing_chunk_count`](Self::missing_chunk_count)).
    pub fn missing_chunks(&self) -> Result<Vec<Vec<usize>>> {
        let stored = stored_chunks(&self.array, &self.location)?;
        let count = grid_chunk_count(self.array.chunk_grid_shape()) - stored.len() as u128;
        if count > MISSING_CHUNKS_LIST_LIMIT as u128 {
            return Err(io_error(
                &self.location,
                format!(
                    "{count} chunks are missing, more than missing_chunks lists \
                     ({MISSING_CHUNKS_LIST_LIMIT}); use first_missing_chunks(limit) or \
                     missing_chunk_count()"
                ),
            ));
        }
        self.missing_among(&stored, MISSING_CHUNKS_LIST_LIMIT)
    }

    /// The first `limit` chunks of the grid that are not in `stored`, as host indices.
    fn missing_among(
        &self,
        stored: &std::collections::HashSet<Vec<u64>>,
        limit: usize,
    ) -> Result<Vec<Vec<usize>>> {
        first_missing(self.array.chunk_grid_shape(), stored, limit)
            .iter()
            .map(|index| to_usize(index, &self.location, "chunk index"))
            .collect()
    }

    /// Checks that `region` lies inside the array.
    fn check_region(&self, region: &Region) -> Result<()> {
        let inside = region.start.len() == self.shape.len()
            && region.shape.len() == self.shape.len()
            && (0..self.shape.len()).all(|axis| {
                region.start[axis]
                    .checked_add(region.shape[axis])
                    .is_some_and(|end| end <= self.shape[axis])
            });
        if !inside {
            return Err(Error::bad_index(
                "zarr read",
                format!(
                    "region start {:?} shape {:?} is outside zarr array {} of shape {:?}",
                    region.start, region.shape, self.location, self.shape
                ),
            ));
        }
        if checked_nbytes(&region.shape, self.dtype).is_none() {
            return Err(Error::bad_index(
                "zarr read",
                format!(
                    "region shape {:?} of zarr array {} is too large to hold in memory",
                    region.shape, self.location
                ),
            ));
        }
        Ok(())
    }

    /// Decodes every chunk overlapping `region` whole and copies out the overlap.
    ///
    /// Chunks are decoded whole even for a small overlap: a partial decode of a raw (`bytes`)
    /// chunk reads only the byte ranges it needs and would not notice a truncated file.
    fn read_typed<T: HostElement + ElementOwned>(&self, region: &Region) -> Result<ArrayD<T>> {
        let ndim = self.shape.len();
        let fill = T::from_scalar(self.fill_value);
        if region.shape.contains(&0) {
            return filled(&region.shape, fill, &self.location);
        }
        let first_chunk: Vec<usize> = (0..ndim)
            .map(|axis| region.start[axis] / self.chunk_shape[axis])
            .collect();
        let chunk_counts: Vec<usize> = (0..ndim)
            .map(|axis| {
                let last = (region.start[axis] + region.shape[axis] - 1) / self.chunk_shape[axis];
                last - first_chunk[axis] + 1
            })
            .collect();
        // Zarr stores edge chunks at full size, so every chunk has the grid's chunk shape.
        let one_whole_chunk = (0..ndim).all(|axis| {
            region.start[axis].is_multiple_of(self.chunk_shape[axis])
                && region.shape[axis] == self.chunk_shape[axis]
        });
        if one_whole_chunk {
            let chunk_index: Vec<u64> = first_chunk.iter().map(|&i| i as u64).collect();
            let key = self.array.chunk_key(&chunk_index);
            return match self.stored_chunk::<T>(&chunk_index, &key)? {
                Some(values) => {
                    let decoded = values.len();
                    ArrayD::from_shape_vec(IxDyn(&self.chunk_shape), values)
                        .map_err(|_| wrong_size(&self.location, &chunk_index, &key, decoded))
                }
                None => filled(&region.shape, fill, &self.location),
            };
        }
        // Chunks never written leave the fill value in place.
        let mut out = filled(&region.shape, fill, &self.location)?;
        for offset in ndarray::indices(IxDyn(&chunk_counts)) {
            let chunk_index: Vec<u64> = (0..ndim)
                .map(|axis| (first_chunk[axis] + offset[axis]) as u64)
                .collect();
            let chunk_start: Vec<usize> = (0..ndim)
                .map(|axis| (first_chunk[axis] + offset[axis]) * self.chunk_shape[axis])
                .collect();
            // The overlap of the region and this chunk, in chunk and in region coordinates.
            let in_chunk: Vec<Range<usize>> = (0..ndim)
                .map(|axis| {
                    let start = region.start[axis].max(chunk_start[axis]);
                    let end = (region.start[axis] + region.shape[axis])
                        .min(chunk_start[axis].saturating_add(self.chunk_shape[axis]));
                    start - chunk_start[axis]..end - chunk_start[axis]
                })
                .collect();
            let in_region: Vec<Range<usize>> = (0..ndim)
                .map(|axis| {
                    let start = chunk_start[axis] + in_chunk[axis].start - region.start[axis];
                    start..start + in_chunk[axis].len()
                })
                .collect();
            let key = self.array.chunk_key(&chunk_index);
            let Some(values) = self.stored_chunk::<T>(&chunk_index, &key)? else {
                continue;
            };
            let chunk = ArrayViewD::from_shape(IxDyn(&self.chunk_shape), &values)
                .map_err(|_| wrong_size(&self.location, &chunk_index, &key, values.len()))?;
            let piece =
                chunk.slice_each_axis(|axis| Slice::from(in_chunk[axis.axis.index()].clone()));
            out.slice_each_axis_mut(|axis| Slice::from(in_region[axis.axis.index()].clone()))
                .assign(&piece);
        }
        Ok(out)
    }

    /// The decoded elements of a stored chunk, or `None` for a chunk never written (an error
    /// in a strict read). Its stored bytes are fetched once and decoded through the codecs by
    /// [`decode_chunk`], which refuses zstd frames that claim more bytes than the chunk holds.
    fn stored_chunk<T: ElementOwned>(
        &self,
        chunk_index: &[u64],
        key: &StoreKey,
    ) -> Result<Option<Vec<T>>> {
        let fail = |cause: &dyn fmt::Display| chunk_error(&self.location, chunk_index, key, cause);
        let encoded = self
            .array
            .retrieve_encoded_chunk(chunk_index)
            .map_err(|err| fail(&err))?;
        let Some(encoded) = encoded else {
            if self.mode == ZarrReadMode::Strict {
                return Err(fail(
                    &"missing: it was never written (a strict read does not fill it)",
                ));
            }
            return Ok(None);
        };
        let shape = self
            .array
            .chunk_shape(chunk_index)
            .map_err(|err| fail(&err))?;
        let bytes = decode_chunk(
            &self.array.codecs(),
            encoded,
            &shape,
            self.array.data_type(),
            self.array.fill_value(),
            &CodecOptions::default(),
        )
        .map_err(|err| fail(&err))?;
        let shape: Vec<u64> = shape.iter().map(|len| len.get()).collect();
        Vec::<T>::from_array_bytes(bytes, &shape, self.array.data_type())
            .map(Some)
            .map_err(|err| fail(&err))
    }
}

/// An array of `shape` (whose size [`checked_nbytes`] accepted) filled with `fill`, or an error
/// when the memory cannot be had: a failed allocation would abort the process.
fn filled<T: Clone>(shape: &[usize], fill: T, location: &str) -> Result<ArrayD<T>> {
    let count: usize = shape.iter().product();
    let mut values = Vec::new();
    values.try_reserve_exact(count).map_err(|_| {
        io_error(
            location,
            format!(
                "cannot allocate {} bytes for a region of shape {shape:?}",
                count.saturating_mul(size_of::<T>())
            ),
        )
    })?;
    values.resize(count, fill);
    ArrayD::from_shape_vec(IxDyn(shape), values).map_err(|err| {
        io_error(
            location,
            format!("cannot shape a region of shape {shape:?}: {err}"),
        )
    })
}

/// The error for a chunk that decoded to the wrong number of elements.
fn wrong_size(location: &str, chunk_index: &[u64], key: &StoreKey, decoded: usize) -> Error {
    chunk_error(
        location,
        chunk_index,
        key,
        format!("decoded {decoded} elements, which do not fill the chunk shape"),
    )
}

impl ChunkReader for ZarrReader {
    fn describe(&self) -> String {
        format!("zarr array {}", self.location)
    }

    fn read(&self, region: &Region) -> Result<HostArray> {
        self.check_region(region)?;
        with_dtype!(self.dtype, T => self.read_typed::<T>(region).map(HostArray::from_array))
    }

    /// Chunks are decoded one at a time. A whole chunk holds its encoded bytes beside the decoded
    /// ones, which then become the values returned (at most two chunks at once: one beyond the
    /// output); any other region also holds the region being filled.
    fn read_scratch_bytes(&self, region: &Region) -> u64 {
        let chunk_bytes = self
            .chunk_shape
            .iter()
            .try_fold(self.dtype.size() as u64, |acc, &n| {
                acc.checked_mul(n as u64)
            });
        let whole_chunk = region.shape.as_slice() == self.chunk_shape.as_slice()
            && region
                .start
                .iter()
                .zip(&self.chunk_shape)
                .all(|(s, c)| s % c == 0);
        let copies = if whole_chunk { 1 } else { 2 };
        chunk_bytes.map_or(u64::MAX, |b| b.saturating_mul(copies))
    }
}

/// The chunk shape of a regular chunk grid.
fn regular_chunk_shape(metadata: &ArrayMetadata, location: &str) -> Result<Vec<usize>> {
    let chunk_shape: Vec<u64> = match metadata {
        ArrayMetadata::V2(v2) => v2.chunks.iter().map(|size| size.get()).collect(),
        ArrayMetadata::V3(v3) => {
            let grid = &v3.chunk_grid;
            if grid.name() != "regular" {
                return Err(io_error(
                    location,
                    format!(
                        "chunk grid '{}' is not supported (tilework reads regular grids)",
                        grid.name()
                    ),
                ));
            }
            let configuration: RegularChunkGridConfiguration = grid
                .to_typed_configuration()
                .map_err(|err| io_error(location, format!("bad regular chunk grid: {err}")))?;
            configuration
                .chunk_shape
                .iter()
                .map(|size| size.get())
                .collect()
        }
    };
    to_usize(&chunk_shape, location, "chunk shape")
}

/// Explains why an array could not be opened.
fn open_error(err: ArrayCreateError, location: &str) -> Error {
    match err {
        ArrayCreateError::MissingMetadata => io_error(
            location,
            "not a Zarr array (no zarr.json or .zarray metadata found)",
        ),
        ArrayCreateError::DataTypeCreateError(cause) => io_error(
            location,
            format!("unsupported dtype in {location}: {cause} ({SUPPORTED_DTYPES})"),
        ),
        other => io_error(location, format!("cannot open Zarr array: {other}")),
    }
}
