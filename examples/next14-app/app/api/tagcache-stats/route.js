export const dynamic = 'force-dynamic'

/** This server's tagcache counters (the handlers keep the engine on globalThis). */
export async function GET() {
  const engine = globalThis[Symbol.for('tagcache.engine')]
  return Response.json(engine ? engine.stats() : { error: 'tagcache has not been used yet' })
}
