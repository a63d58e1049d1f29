import { connection } from 'next/server'

/**
 * The counters of this server's tagcache engine: proof that the cache work is ours.
 * The handlers keep their engine on `globalThis[Symbol.for('tagcache.engine')]`; reading it
 * there keeps the native addon out of this route's bundle.
 */
export async function GET() {
  await connection()
  const engine = globalThis[Symbol.for('tagcache.engine')]
  return Response.json(engine ? engine.stats() : { error: 'tagcache has not been used yet' })
}
