import { connection } from 'next/server'
import { cachedTime } from './cached'

/** Renders a cached value per request (the request is dynamic, the value is cached). */
export async function Stamp({ tag, profile }) {
  await connection()
  const value = await cachedTime(tag, profile)
  return (
    <p>
      cached at <code data-stamp={tag}>{`${value.at}|${value.id}`}</code> (tag <code>{tag}</code>,
      profile <code>{profile}</code>)
    </p>
  )
}
