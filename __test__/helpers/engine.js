'use strict'
const { TagCache } = require('../..')

/** Resolves to the error a promise rejects with (fails if it resolves). */
async function rejection(promise) {
  try {
    await promise
  } catch (err) {
    return err
  }
  throw new Error('expected a rejection')
}

/** The error a function throws (fails if it returns). */
function thrown(fn) {
  try {
    fn()
  } catch (err) {
    return err
  }
  throw new Error('expected a throw')
}

/** ms since the epoch, as Next computes it. */
const now = () => performance.timeOrigin + performance.now()

/** A timestamp `seconds` in the past, to stand for an entry written then. */
const secondsAgo = (seconds) => now() - seconds * 1000

module.exports = { TagCache, rejection, thrown, now, secondsAgo }
