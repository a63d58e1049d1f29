//! A versioned binary envelope for entries that leave the process (the shared store):
//!
//! ```text
//! "TGC" version:u8 flags:u8 | timestamp stale revalidate expire: f64 LE | tag count: u32 LE
//! | per tag: len:u32 LE, UTF-8 bytes | value len: u64 LE | value bytes
//! ```
//!
//! Binary, so values are never base64'd into JSON. Values of `COMPRESS_MIN_BYTES` or more
//! are zstd-compressed when that saves at least an eighth (flag `ZSTD`): HTML and RSC
//! payloads shrink several-fold, which Redis memory and the network both feel. A buffer that
//! does not decode (another version, truncation, corruption) is an error the store turns
//! into a miss.

use std::borrow::Cow;

use crate::entry::EntryMeta;
use crate::error::{Error, ErrorCode, Result};

const MAGIC: &[u8; 3] = b"TGC";
/// Bumped whenever the layout changes; other versions are misses, never misread.
pub const VERSION: u8 = 1;
/// Flag: the value is zstd-compressed.
const ZSTD: u8 = 1;
/// Smallest value worth compressing (bytes).
pub const COMPRESS_MIN_BYTES: usize = 16 * 1024;
/// zstd level: fast, and most of the gain on HTML-like values.
const ZSTD_LEVEL: i32 = 1;

/// Encodes `meta` and `value` into one buffer, compressing the value when it pays.
pub fn encode(meta: &EntryMeta, value: &[u8]) -> Vec<u8> {
  encode_after(&[], meta, value)
}

/// `encode`, with `header` (a store's own prefix, such as the Redis epoch) written first
/// into the same buffer, so no second copy of the value is made.
pub fn encode_after(header: &[u8], meta: &EntryMeta, value: &[u8]) -> Vec<u8> {
  let compressed = (value.len() >= COMPRESS_MIN_BYTES)
    .then(|| zstd::bulk::compress(value, ZSTD_LEVEL).ok())
    .flatten()
    .filter(|c| c.len() <= value.len() - value.len() / 8);
  let (flags, value) = match &compressed {
    Some(c) => (ZSTD, c.as_slice()),
    None => (0, value),
  };
  let tag_bytes: usize = meta.tags.iter().map(|t| 4 + t.len()).sum();
  let mut out = Vec::with_capacity(header.len() + 5 + 32 + 4 + tag_bytes + 8 + value.len());
  out.extend_from_slice(header);
  out.extend_from_slice(MAGIC);
  out.push(VERSION);
  out.push(flags);
  for n in [meta.timestamp, meta.stale, meta.revalidate, meta.expire] {
    out.extend_from_slice(&n.to_le_bytes());
  }
  out.extend_from_slice(&(meta.tags.len() as u32).to_le_bytes());
  for tag in meta.tags.iter() {
    out.extend_from_slice(&(tag.len() as u32).to_le_bytes());
    out.extend_from_slice(tag.as_bytes());
  }
  out.extend_from_slice(&(value.len() as u64).to_le_bytes());
  out.extend_from_slice(value);
  out
}

/// Decodes a buffer made by `encode`. An uncompressed value is a slice of `buf` (no copy).
pub fn decode(buf: &[u8]) -> Result<(EntryMeta, Cow<'_, [u8]>)> {
  let mut r = Reader { buf, pos: 0 };
  if r.take(3)? != MAGIC {
    return Err(corrupt("not a tagcache entry"));
  }
  let version = r.take(1)?[0];
  if version != VERSION {
    return Err(corrupt(&format!(
      "entry version {version}, this build reads {VERSION}"
    )));
  }
  let flags = r.take(1)?[0];
  if flags & !ZSTD != 0 {
    return Err(corrupt("unknown flags"));
  }
  let timestamp = r.f64()?;
  let stale = r.f64()?;
  let revalidate = r.f64()?;
  let expire = r.f64()?;
  let count = r.u32()? as usize;
  // Each tag needs at least 4 bytes: refuse counts the buffer cannot hold before allocating.
  if count > r.remaining() / 4 {
    return Err(corrupt("tag count larger than the entry"));
  }
  let mut tags = Vec::with_capacity(count);
  for _ in 0..count {
    let len = r.u32()? as usize;
    let bytes = r.take(len)?;
    let tag = std::str::from_utf8(bytes).map_err(|_| corrupt("tag is not UTF-8"))?;
    tags.push(tag.to_string());
  }
  let len = usize::try_from(r.u64()?).map_err(|_| corrupt("value length"))?;
  let value = r.take(len)?;
  if r.remaining() != 0 {
    return Err(corrupt("trailing bytes"));
  }
  let value = if flags & ZSTD != 0 {
    Cow::Owned(decompress(value)?)
  } else {
    Cow::Borrowed(value)
  };
  let meta = EntryMeta {
    tags: tags.into(),
    stale,
    revalidate,
    expire,
    timestamp,
  };
  Ok((meta, value))
}

/// Decompresses a zstd frame whose content size is recorded in it (as `bulk::compress`
/// writes it), refusing sizes over 1 GiB so a corrupt header cannot demand any allocation.
fn decompress(frame: &[u8]) -> Result<Vec<u8>> {
  const MAX: u64 = 1 << 30;
  // The most a zstd block can expand: 128 KiB of output from a 3-byte RLE block, so a claim
  // beyond that for this frame's length is a corrupt header, not a reason to reserve it.
  let bound = (frame.len() as u64).saturating_mul(128 * 1024 / 3 + 1);
  let size = zstd::zstd_safe::get_frame_content_size(frame)
    .ok()
    .flatten()
    .filter(|s| *s <= MAX && *s <= bound)
    .ok_or_else(|| corrupt("compressed value without a valid size"))?;
  zstd::bulk::decompress(frame, size as usize).map_err(|_| corrupt("compressed value"))
}

fn corrupt(why: &str) -> Error {
  Error::new(ErrorCode::Store, format!("undecodable cache entry: {why}"))
}

struct Reader<'a> {
  buf: &'a [u8],
  pos: usize,
}

impl<'a> Reader<'a> {
  fn remaining(&self) -> usize {
    self.buf.len() - self.pos
  }

  fn take(&mut self, n: usize) -> Result<&'a [u8]> {
    if n > self.remaining() {
      return Err(corrupt("truncated"));
    }
    let out = &self.buf[self.pos..self.pos + n];
    self.pos += n;
    Ok(out)
  }

  fn fixed<const N: usize>(&mut self) -> Result<[u8; N]> {
    Ok(self.take(N)?.try_into().expect("take returned N bytes"))
  }

  fn f64(&mut self) -> Result<f64> {
    Ok(f64::from_le_bytes(self.fixed()?))
  }

  fn u32(&mut self) -> Result<u32> {
    Ok(u32::from_le_bytes(self.fixed()?))
  }

  fn u64(&mut self) -> Result<u64> {
    Ok(u64::from_le_bytes(self.fixed()?))
  }
}

#[cfg(test)]
mod tests {
  use super::*;

  fn meta() -> EntryMeta {
    EntryMeta {
      tags: ["posts", "_N_T_/blog", "é"].iter().collect(),
      stale: 300.0,
      revalidate: 900.0,
      expire: 4294967294.0,
      timestamp: 1_763_800_000_123.456_7,
    }
  }

  #[test]
  fn round_trip_keeps_floats_exact() {
    let value = vec![0u8, 1, 2, 255];
    let buf = encode(&meta(), &value);
    let (m, v) = decode(&buf).unwrap();
    assert_eq!(m, meta());
    assert_eq!(m.timestamp.to_bits(), meta().timestamp.to_bits());
    assert_eq!(&v[..], &value[..]);
    assert!(matches!(v, Cow::Borrowed(_)));
  }

  #[test]
  fn empty_value_and_no_tags() {
    let m = EntryMeta {
      tags: Default::default(),
      ..meta()
    };
    let buf = encode(&m, &[]);
    let (dm, dv) = decode(&buf).unwrap();
    assert_eq!((dm, &dv[..]), (m, &[][..]));
  }

  #[test]
  fn garbage_other_versions_and_truncation_are_errors() {
    let buf = encode(&meta(), b"hello");
    let mut other = buf.clone();
    other[3] = 2;
    assert!(decode(&other).unwrap_err().message.contains("version 2"));
    assert_eq!(decode(b"nope").unwrap_err().code, ErrorCode::Store);
    for cut in 0..buf.len() {
      assert!(decode(&buf[..cut]).is_err(), "cut at {cut}");
    }
    let mut long = buf.clone();
    long.push(0);
    assert!(decode(&long).is_err());
    // A huge tag count must not allocate.
    let mut huge = buf.clone();
    huge[37..41].copy_from_slice(&u32::MAX.to_le_bytes());
    assert!(decode(&huge).is_err());
  }

  #[test]
  fn large_compressible_values_are_compressed_and_round_trip() {
    let html: Vec<u8> = "<div class=\"post\">hello</div>".repeat(4000).into_bytes();
    let buf = encode(&meta(), &html);
    assert_eq!(buf[4], ZSTD);
    assert!(
      buf.len() < html.len() / 4,
      "{} vs {}",
      buf.len(),
      html.len()
    );
    let (_, v) = decode(&buf).unwrap();
    assert_eq!(&v[..], &html[..]);
    // Incompressible bytes are stored as they are.
    let mut seed = 7u64;
    let noise: Vec<u8> = (0..COMPRESS_MIN_BYTES * 2)
      .map(|_| {
        seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1);
        (seed >> 33) as u8
      })
      .collect();
    let buf = encode(&meta(), &noise);
    assert_eq!(buf[4], 0);
    assert_eq!(&decode(&buf).unwrap().1[..], &noise[..]);
    // A corrupt frame is an error, not a panic or a huge allocation.
    let mut bad = encode(&meta(), &html);
    let n = bad.len();
    bad[n - 10] ^= 0xff;
    let _ = decode(&bad);
  }

  #[test]
  fn never_panics_on_random_bytes() {
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    for len in 0..300 {
      let bytes: Vec<u8> = (0..len)
        .map(|_| {
          seed ^= seed << 13;
          seed ^= seed >> 7;
          seed ^= seed << 17;
          seed as u8
        })
        .collect();
      let _ = decode(&bytes);
      let mut framed = encode(&meta(), &bytes);
      let i = (seed as usize) % framed.len();
      framed[i] ^= 0xff;
      let _ = decode(&framed);
    }
  }
}
