'use strict'
/**
 * Tags as the adapters hand them to the engine, one rule for both handlers. The engine
 * rejects a tag Next would never store (`validate_tag` in src/tags.rs); these rules let the
 * adapters store an entry without such a tag, and apply the good tags of a revalidation
 * whose list holds a bad one, as Next does (it drops over-long tags with a warning).
 */

/** Next's `NEXT_CACHE_TAG_MAX_LENGTH`. */
const MAX_TAG_LENGTH = 256
/** Next's `NEXT_CACHE_SOFT_TAG_MAX_LENGTH`, for implicit `_N_T_` tags. */
const MAX_SOFT_TAG_LENGTH = 1024
/** Next's `NEXT_CACHE_IMPLICIT_TAG_ID`. */
const IMPLICIT_TAG_PREFIX = '_N_T_'

/** Length as Next measures it: of the tag as written, before its header-safe %-encoding. */
function writtenLength(tag) {
  if (!tag.includes('%')) return tag.length
  try {
    return decodeURIComponent(tag).length
  } catch {
    return tag.length
  }
}

/** Whether the engine stores `tag`: a non-empty string within Next's length limit. */
function isStorableTag(tag) {
  if (typeof tag !== 'string' || tag.length === 0) return false
  const max = tag.startsWith(IMPLICIT_TAG_PREFIX) ? MAX_SOFT_TAG_LENGTH : MAX_TAG_LENGTH
  return tag.length <= max || writtenLength(tag) <= max
}

/**
 * `engine.updateTags(tags, durations)`; when the list holds a tag the engine rejects
 * (`ERR_TAG_TOO_LONG`, `ERR_INVALID_TAG`), each tag on its own, so the good ones apply.
 * Any other failure (`ERR_STORE`: the tags were applied here, Redis did not take them) is
 * thrown as it is, never retried: a retry would apply the tags twice.
 */
async function updateTagsEach(engine, tags, durations) {
  try {
    await engine.updateTags(tags, durations)
  } catch (err) {
    if (err.code !== 'ERR_TAG_TOO_LONG' && err.code !== 'ERR_INVALID_TAG') throw err
    for (const tag of tags) {
      await engine.updateTags([tag], durations).catch(() => {})
    }
    throw err
  }
}

module.exports = { isStorableTag, updateTagsEach }
