import { revalidateTag } from 'next/cache'

/**
 * GET /api/revalidate?tag=time&profile=max   → revalidateTag('time', 'max')
 * GET /api/revalidate?tag=time&expire=0      → revalidateTag('time', { expire: 0 })
 */
export async function GET(request) {
  const params = request.nextUrl.searchParams
  const tag = params.get('tag')
  if (!tag) return Response.json({ error: 'tag is required' }, { status: 400 })
  const profile = params.has('expire')
    ? { expire: Number(params.get('expire')) }
    : params.get('profile') || 'max'
  try {
    revalidateTag(tag, profile)
  } catch (err) {
    return Response.json({ error: err.message }, { status: 400 })
  }
  return Response.json({ revalidated: tag, profile })
}
