//! `.npz` archives (`np.savez`, `np.savez_compressed`): a zip of `.npy` members, read whole.

use super::header;
use super::io_failure;
use super::read::decode;
use super::zip::{self, Member, Method};
use crate::io_error;
use memmap2::Mmap;
use std::borrow::Cow;
use std::fs::File;
use std::io::Read;
use std::path::Path;
use tilework_core::{HostArray, Result};

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
/// fails its CRC check, or holds a member that is not a `.npy` array tilework can read.
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
    let members = zip::members(&map).map_err(|message| io_error(path.display(), message))?;
    members
        .iter()
        .map(|member| {
            let array = read_member(member).map_err(|message| {
                io_error(path.display(), format!("member {}: {message}", member.name))
            })?;
            let name = member.name.strip_suffix(".npy").unwrap_or(&member.name);
            Ok((name.to_owned(), array))
        })
        .collect()
}

fn read_member(member: &Member<'_>) -> std::result::Result<HostArray, String> {
    let bytes = member_bytes(member)?;
    let mut crc = flate2::Crc::new();
    crc.update(&bytes);
    if crc.sum() != member.crc32 {
        return Err(format!(
            "CRC mismatch (the archive says {:08x}, the data has {:08x})",
            member.crc32,
            crc.sum()
        ));
    }
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

fn member_bytes<'a>(member: &Member<'a>) -> std::result::Result<Cow<'a, [u8]>, String> {
    let size = member.size;
    match member.method {
        Method::Stored if member.data.len() as u64 == size => Ok(Cow::Borrowed(member.data)),
        Method::Stored => Err(format!(
            "stored member has {} bytes but the directory says {size}",
            member.data.len()
        )),
        Method::Deflated => {
            // Grow with the data rather than trusting the recorded size for the allocation,
            // and stop one byte past it so a lying size is caught without inflating a bomb.
            let mut out = Vec::with_capacity(usize::try_from(size).unwrap_or(0).min(1 << 26));
            flate2::read::DeflateDecoder::new(member.data)
                .take(size.saturating_add(1))
                .read_to_end(&mut out)
                .map_err(|e| format!("cannot inflate: {e}"))?;
            if out.len() as u64 != size {
                return Err(format!(
                    "inflates to {}{} bytes but the directory says {size}",
                    out.len(),
                    if out.len() as u64 > size { "+" } else { "" }
                ));
            }
            Ok(Cow::Owned(out))
        }
    }
}
