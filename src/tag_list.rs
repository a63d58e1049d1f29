//! An entry's explicit tags, packed in one allocation.

use std::fmt;

/// The tags of one entry, in order, packed as one byte string: each tag is its UTF-8 length
/// (LEB128) followed by its bytes. Every stored entry has tags, most of them short: as a
/// `Vec<String>` two tags cost a buffer and an allocation each (~150 B with `malloc`'s
/// headers); packed they cost one allocation (~48 B), which is memory per entry
/// (`benchmark/NOTES.md`). Only whole `&str`s go in, so every slice read back is UTF-8.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct TagList(Box<[u8]>);

impl TagList {
  /// The tags, in the order they were given.
  pub fn iter(&self) -> Iter<'_> {
    Iter(&self.0)
  }

  /// How many tags there are.
  pub fn len(&self) -> usize {
    self.iter().count()
  }

  pub fn is_empty(&self) -> bool {
    self.0.is_empty()
  }

  /// The bytes of all tags (what a store charges for them).
  pub fn text_len(&self) -> usize {
    self.iter().map(str::len).sum()
  }

  /// The tags as owned strings (for JS and for tests).
  pub fn to_vec(&self) -> Vec<String> {
    self.iter().map(str::to_string).collect()
  }
}

impl<S: AsRef<str>> FromIterator<S> for TagList {
  fn from_iter<I: IntoIterator<Item = S>>(tags: I) -> Self {
    let mut packed = Vec::new();
    for tag in tags {
      let tag = tag.as_ref().as_bytes();
      let mut len = tag.len();
      loop {
        let low = (len & 0x7f) as u8;
        len >>= 7;
        if len == 0 {
          packed.push(low);
          break;
        }
        packed.push(low | 0x80);
      }
      packed.extend_from_slice(tag);
    }
    TagList(packed.into_boxed_slice())
  }
}

impl From<Vec<String>> for TagList {
  fn from(tags: Vec<String>) -> Self {
    tags.iter().collect()
  }
}

impl fmt::Debug for TagList {
  fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    f.debug_list().entries(self.iter()).finish()
  }
}

/// The tags of a `TagList`, as `&str`.
#[derive(Clone)]
pub struct Iter<'a>(&'a [u8]);

impl<'a> Iterator for Iter<'a> {
  type Item = &'a str;

  fn next(&mut self) -> Option<&'a str> {
    let mut len = 0usize;
    let mut shift = 0;
    loop {
      let (&byte, rest) = self.0.split_first()?;
      self.0 = rest;
      len |= ((byte & 0x7f) as usize) << shift;
      if byte & 0x80 == 0 {
        break;
      }
      shift += 7;
    }
    let (tag, rest) = self.0.split_at_checked(len)?;
    self.0 = rest;
    // Always UTF-8 (only whole `&str`s are packed); an empty tag if that ever failed.
    Some(std::str::from_utf8(tag).unwrap_or_default())
  }
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn tags_come_back_in_order_whatever_their_length() {
    let long = "x".repeat(300);
    let huge = "é".repeat(20_000);
    let tags = ["posts", "", "_N_T_/blog", long.as_str(), "é", huge.as_str()];
    let list: TagList = tags.iter().collect();
    assert_eq!(list.iter().collect::<Vec<_>>(), tags);
    assert_eq!(list.len(), 6);
    assert_eq!(list.text_len(), tags.iter().map(|t| t.len()).sum::<usize>());
    assert_eq!(
      format!("{:?}", TagList::from(vec!["a".to_string()])),
      "[\"a\"]"
    );
    assert!(TagList::default().is_empty() && TagList::default().iter().next().is_none());
  }
}
