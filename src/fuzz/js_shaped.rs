//! The engine called with JS-shaped arguments, as the binding calls it.

use crate::cache::{Cache, SharedWrite};
use crate::clock::Clock;
use crate::error::Result;
use crate::input::Input;
use crate::options::Options;
use crate::parse;
use crate::tags::TagState;

/// The engine called as the binding calls it: JS-shaped arguments parsed at the boundary
/// (`crate::parse`, after `check_open` so a closed engine answers `ERR_CLOSED` first), then
/// the typed method. The targets feed it arbitrary `Input`s.
pub trait JsShaped {
  fn js_engine(options: &Input, clock: Clock) -> Result<Self>
  where
    Self: Sized;
  fn js_set(&self, key: String, value: Vec<u8>, meta: &Input) -> Result<Option<SharedWrite>>;
  fn js_revalidate_tag(&self, tags: &Input, profile: &Input) -> Result<Option<SharedWrite>>;
  fn js_update_tag(&self, tag: &Input) -> Result<Option<SharedWrite>>;
  fn js_update_tags(&self, tags: &Input, durations: &Input) -> Result<Option<SharedWrite>>;
  fn js_revalidate_path(
    &self,
    path: &Input,
    kind: &Input,
  ) -> Result<(Vec<String>, Option<SharedWrite>)>;
  fn js_get_expiration(&self, tags: &Input) -> Result<f64>;
  fn js_tag_states(&self, tags: &Input) -> Result<Vec<(String, TagState)>>;
}

impl JsShaped for Cache<Vec<u8>> {
  fn js_engine(options: &Input, clock: Clock) -> Result<Self> {
    Cache::with_clock(Options::parse(options)?, clock)
  }

  fn js_set(&self, key: String, value: Vec<u8>, meta: &Input) -> Result<Option<SharedWrite>> {
    self.check_open()?;
    let meta = parse::set_meta(meta, self.profiles(), self.now())?;
    self.set(key, value, meta)
  }

  fn js_revalidate_tag(&self, tags: &Input, profile: &Input) -> Result<Option<SharedWrite>> {
    self.check_open()?;
    let tags = parse::tags(tags, "tag")?;
    let durations = parse::revalidate_profile(profile, self.profiles())?;
    self.update_tags(&tags, durations)
  }

  fn js_update_tag(&self, tag: &Input) -> Result<Option<SharedWrite>> {
    self.check_open()?;
    self.update_tags(&parse::tags(tag, "tag")?, None)
  }

  fn js_update_tags(&self, tags: &Input, durations: &Input) -> Result<Option<SharedWrite>> {
    self.check_open()?;
    let tags = parse::tags(tags, "tags")?;
    self.update_tags(&tags, parse::update_durations(durations)?)
  }

  fn js_revalidate_path(
    &self,
    path: &Input,
    kind: &Input,
  ) -> Result<(Vec<String>, Option<SharedWrite>)> {
    self.check_open()?;
    let (path, kind) = parse::path(path, kind)?;
    self.revalidate_path(&path, kind)
  }

  fn js_get_expiration(&self, tags: &Input) -> Result<f64> {
    self.get_expiration(&parse::lookup_tags(tags))
  }

  fn js_tag_states(&self, tags: &Input) -> Result<Vec<(String, TagState)>> {
    self.tag_states(&parse::lookup_tags(tags))
  }
}
