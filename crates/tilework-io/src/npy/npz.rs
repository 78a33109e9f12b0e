//! `.npz` archives (`np.savez`, `np.savez_compressed`): a zip of `.npy` members, read whole.
//!
//! The `zip` crate parses the archive (end records with their ZIP64 forms, central directory,
//! local headers) and inflates members; this module checks what an `.npz` may hold, bounds the
//! bytes it reads by the recorded size, and verifies the CRC itself so that a mismatch says so.

use super::header;
use super::io_failure;
use super::read::decode;
use crate::io_error;
use memmap2::Mmap;
use std::fs::File;
use std::io::{Cursor, Read, Seek};
use std::path::Path;
use tilework_core::{HostArray, Result};
use zip::{CompressionMethod, ZipArchive, ZipReadOptions};

/// Reads every array of a NumPy `.npz` archive, as written by `np.savez` (stored) or
/// `np.savez_compressed` (deflate), in archive order. Names lose their `.npy` suffix, as in
/// NumPy's `np.load(path).files`.
///
/// Unlike [`NpyReader`](super::NpyReader) this is eager: compressed members cannot be read by
/// region, and archives are usually small collections of arrays.
///
/// # Errors
/// An [`Error::Io`](tilework_core::Error::Io) naming the archive (and the member) when it
/// cannot be read, is not a zip archive, uses encryption or a compression other than deflate,
/// fails its CRC check, holds two members of one name, or holds a member that is not a `.npy`
/// array tilework can read.
pub fn read_npz(path: impl AsRef<Path>) -> Result<Vec<(String, HostArray)>> {
    let path = path.as_ref();
    let file = File::open(path).map_err(|e| io_failure(path, "cannot open", &e))?;
    let metadata = file
        .metadata()
        .map_err(|e| io_failure(path, "cannot read metadata", &e))?;
    if !metadata.is_file() || metadata.len() == 0 {
        return Err(io_error(
            path.display(),
            "not a zip archive (empty or not a regular file)",
        ));
    }
    // SAFETY: as for `NpyReader::open`: a read-only mapping accessed only through checked
    // slices, sound as long as no other process changes the archive while it is read.
    let map = unsafe { Mmap::map(&file) }.map_err(|e| io_failure(path, "cannot memory-map", &e))?;
    let mut archive = ZipArchive::new(Cursor::new(&map[..])).map_err(|e| {
        io_error(
            path.display(),
            format!("not a zip archive, or a broken one: {e}"),
        )
    })?;
    // The zip crate keys members by name, so a repeated name would silently hide a member.
    if archive.has_duplicate_names() {
        return Err(io_error(
            path.display(),
            "the archive holds two members of the same name",
        ));
    }
    (0..archive.len())
        .map(|index| {
            let name = member_name(&archive, index);
            let array = read_member(&mut archive, index)
                .map_err(|message| io_error(path.display(), format!("member {name}: {message}")))?;
            let name = name.strip_suffix(".npy").unwrap_or(&name);
            Ok((name.to_owned(), array))
        })
        .collect()
}

/// The name of member `index`, as the zip crate decodes it (UTF-8, else code page 437).
fn member_name<R: Read + Seek>(archive: &ZipArchive<R>, index: usize) -> String {
    match archive.by_index_data(index) {
        Ok(entry) => match entry.name() {
            Ok(name) => name.into_owned(),
            Err(_) => String::from_utf8_lossy(entry.name_raw()).into_owned(),
        },
        Err(_) => format!("#{index}"),
    }
}

fn read_member<R: Read + Seek>(
    archive: &mut ZipArchive<R>,
    index: usize,
) -> std::result::Result<HostArray, String> {
    let bytes = member_bytes(archive, index)?;
    let header = header::parse(&bytes)?;
    header::check_length(&header, bytes.len())?;
    let origin = vec![0; header.shape.len()];
    Ok(decode(
        &header,
        &bytes[header.data_offset..],
        &origin,
        &header.shape,
    ))
}

/// The decompressed bytes of member `index`, checked against the size and CRC the central
/// directory records.
fn member_bytes<R: Read + Seek>(
    archive: &mut ZipArchive<R>,
    index: usize,
) -> std::result::Result<Vec<u8>, String> {
    let entry = archive.by_index_data(index).map_err(|e| e.to_string())?;
    if entry.encrypted() {
        return Err("is encrypted (tilework reads no password-protected archives)".into());
    }
    let method = entry.compression();
    if !matches!(
        method,
        CompressionMethod::Stored | CompressionMethod::Deflated
    ) {
        return Err(format!(
            "uses compression method {method} (.npz archives use stored or deflate)"
        ));
    }
    let (size, crc32) = (entry.size(), entry.crc32());
    // The CRC is checked below, on exactly the bytes kept, with a message that names it.
    let options = ZipReadOptions::new().ignore_crc32(true);
    let mut member = archive
        .by_index_with_options(index, options)
        .map_err(|e| format!("cannot read: {e}"))?;
    // Grow with the data rather than trusting the recorded size for the allocation, and stop
    // one byte past it so a lying size is caught without inflating a bomb.
    let mut out = Vec::with_capacity(usize::try_from(size).unwrap_or(0).min(1 << 26));
    (&mut member)
        .take(size.saturating_add(1))
        .read_to_end(&mut out)
        .map_err(|e| format!("cannot read its data: {e}"))?;
    if out.len() as u64 != size {
        return Err(format!(
            "holds {}{} bytes but the directory says {size}",
            out.len(),
            if out.len() as u64 > size { "+" } else { "" }
        ));
    }
    let mut crc = flate2::Crc::new();
    crc.update(&out);
    if crc.sum() != crc32 {
        return Err(format!(
            "CRC mismatch (the archive says {crc32:08x}, the data has {:08x})",
            crc.sum()
        ));
    }
    Ok(out)
}
