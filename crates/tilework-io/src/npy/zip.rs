//! Just enough of the ZIP format to list the members of an `.npz` archive: the end-of-central-
//! directory record (with its ZIP64 form), the central directory, and each member's local
//! header to find where its data starts.
//!
//! Every offset comes from the archive, so every read is a checked slice and every size is
//! checked arithmetic; a malformed archive is an error, never a panic.

const LOCAL_HEADER: u32 = 0x0403_4b50;
const CENTRAL_HEADER: u32 = 0x0201_4b50;
const END_OF_DIRECTORY: u32 = 0x0605_4b50;
const ZIP64_LOCATOR: u32 = 0x0706_4b50;
const ZIP64_END_OF_DIRECTORY: u32 = 0x0606_4b50;
const ZIP64_EXTRA: u16 = 0x0001;

/// Fixed part of the end-of-central-directory record; a comment of up to 64 KiB may follow.
const END_LEN: usize = 22;

/// How a member's bytes are stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Method {
    Stored,
    Deflated,
}

/// One archive member, borrowing its (possibly compressed) bytes from the archive.
#[derive(Debug)]
pub(crate) struct Member<'a> {
    pub(crate) name: String,
    pub(crate) method: Method,
    pub(crate) crc32: u32,
    /// Size once decompressed, as the central directory records it.
    pub(crate) size: u64,
    pub(crate) data: &'a [u8],
}

/// Little-endian reads at absolute offsets, failing instead of panicking past the end.
#[derive(Clone, Copy)]
struct Bytes<'a>(&'a [u8]);

impl<'a> Bytes<'a> {
    fn array<const N: usize>(&self, at: usize) -> Result<[u8; N], String> {
        at.checked_add(N)
            .and_then(|end| self.0.get(at..end))
            .and_then(|bytes| bytes.try_into().ok())
            .ok_or_else(|| {
                format!("archive is truncated (a record at byte {at} runs past its end)")
            })
    }

    fn u16(&self, at: usize) -> Result<u16, String> {
        self.array(at).map(u16::from_le_bytes)
    }

    fn u32(&self, at: usize) -> Result<u32, String> {
        self.array(at).map(u32::from_le_bytes)
    }

    fn u64(&self, at: usize) -> Result<u64, String> {
        self.array(at).map(u64::from_le_bytes)
    }

    fn slice(&self, at: usize, len: u64) -> Result<&'a [u8], String> {
        usize::try_from(len)
            .ok()
            .and_then(|len| at.checked_add(len))
            .and_then(|end| self.0.get(at..end))
            .ok_or_else(|| {
                format!("archive is truncated ({len} bytes at byte {at} run past its end)")
            })
    }
}

fn offset(value: u64) -> Result<usize, String> {
    usize::try_from(value).map_err(|_| format!("offset {value} does not fit in memory"))
}

/// The members of `archive`, in central-directory order.
pub(crate) fn members(archive: &[u8]) -> Result<Vec<Member<'_>>, String> {
    let bytes = Bytes(archive);
    let end = find_end_of_directory(archive)?;
    let mut count = u64::from(bytes.u16(end + 10)?);
    let mut directory = u64::from(bytes.u32(end + 16)?);
    if count == 0xffff || directory == 0xffff_ffff {
        (count, directory) = zip64_directory(&bytes, end)?;
    }
    let mut members = Vec::new();
    let mut at = offset(directory)?;
    // Each entry takes at least 46 bytes, so a bogus count fails at the archive's end.
    for _ in 0..count {
        let (member, next) = central_entry(&bytes, at)?;
        members.push(member);
        at = next;
    }
    Ok(members)
}

fn find_end_of_directory(archive: &[u8]) -> Result<usize, String> {
    let not_zip = || "not a zip archive (no end-of-central-directory record)".to_string();
    let last = archive.len().checked_sub(END_LEN).ok_or_else(not_zip)?;
    let first = last.saturating_sub(usize::from(u16::MAX));
    let bytes = Bytes(archive);
    (first..=last)
        .rev()
        .find(|&at| {
            bytes.u32(at) == Ok(END_OF_DIRECTORY)
                && bytes
                    .u16(at + 20)
                    .is_ok_and(|comment| at + END_LEN + usize::from(comment) == archive.len())
        })
        .ok_or_else(not_zip)
}

/// Entry count and directory offset from the ZIP64 end-of-central-directory record.
fn zip64_directory(bytes: &Bytes<'_>, end: usize) -> Result<(u64, u64), String> {
    let locator = end
        .checked_sub(20)
        .filter(|&at| bytes.u32(at) == Ok(ZIP64_LOCATOR))
        .ok_or("the ZIP64 end-of-directory locator is missing")?;
    let record = offset(bytes.u64(locator + 8)?)?;
    if bytes.u32(record)? != ZIP64_END_OF_DIRECTORY {
        return Err(format!("no ZIP64 end-of-directory record at byte {record}"));
    }
    Ok((bytes.u64(record + 32)?, bytes.u64(record + 48)?))
}

/// Parses the central-directory entry at `at`; returns it and the offset of the next one.
fn central_entry<'a>(bytes: &Bytes<'a>, at: usize) -> Result<(Member<'a>, usize), String> {
    if bytes.u32(at)? != CENTRAL_HEADER {
        return Err(format!("no central directory entry at byte {at}"));
    }
    let flags = bytes.u16(at + 8)?;
    let method = bytes.u16(at + 10)?;
    let crc32 = bytes.u32(at + 16)?;
    let mut compressed_size = u64::from(bytes.u32(at + 20)?);
    let mut size = u64::from(bytes.u32(at + 24)?);
    let name_len = usize::from(bytes.u16(at + 28)?);
    let extra_len = usize::from(bytes.u16(at + 30)?);
    let comment_len = usize::from(bytes.u16(at + 32)?);
    let mut local = u64::from(bytes.u32(at + 42)?);
    let name = String::from_utf8_lossy(bytes.slice(at + 46, name_len as u64)?).into_owned();
    let extra = bytes.slice(at + 46 + name_len, extra_len as u64)?;
    // The ZIP64 extra field holds, in this order, exactly the values saturated above.
    if let Some(mut field) = find_extra(extra, ZIP64_EXTRA) {
        for value in [&mut size, &mut compressed_size, &mut local] {
            if *value == 0xffff_ffff {
                let short = || format!("member {name}: the ZIP64 extra field is too short");
                let (wide, rest) = field.split_first_chunk::<8>().ok_or_else(short)?;
                *value = u64::from_le_bytes(*wide);
                field = rest;
            }
        }
    }
    if flags & 1 != 0 {
        return Err(format!("member {name} is encrypted"));
    }
    let method = match method {
        0 => Method::Stored,
        8 => Method::Deflated,
        other => {
            return Err(format!(
                "member {name} uses compression method {other} (.npz archives use stored or deflate)"
            ));
        }
    };
    let local = offset(local)?;
    if bytes.u32(local)? != LOCAL_HEADER {
        return Err(format!("member {name}: no local header at byte {local}"));
    }
    let local_name_len = usize::from(bytes.u16(local + 26)?);
    let local_extra_len = usize::from(bytes.u16(local + 28)?);
    let data = bytes.slice(
        local + 30 + local_name_len + local_extra_len,
        compressed_size,
    )?;
    let next = at + 46 + name_len + extra_len + comment_len;
    let member = Member {
        name,
        method,
        crc32,
        size,
        data,
    };
    Ok((member, next))
}

/// The payload of the extra field with `id`, if present.
fn find_extra(mut extra: &[u8], id: u16) -> Option<&[u8]> {
    while let Some((&[id_lo, id_hi, len_lo, len_hi], rest)) = extra.split_first_chunk::<4>() {
        let len = usize::from(u16::from_le_bytes([len_lo, len_hi]));
        let payload = rest.get(..len)?;
        if u16::from_le_bytes([id_lo, id_hi]) == id {
            return Some(payload);
        }
        extra = &rest[len..];
    }
    None
}
