import { revalidateTag } from 'next/cache'

export const dynamic = 'force-dynamic'

/** GET /api/revalidate?tag=upstream&profile=max | &expire=0 */
export async function GET(request) {
  const params = request.nextUrl.searchParams
  const tag = params.get('tag')
  if (!tag) return Response.json({ error: 'tag is required' }, { status: 400 })
  const profile = params.has('expire')
    ? { expire: Number(params.get('expire')) }
    : params.get('profile') || 'max'
  revalidateTag(tag, profile)
  return Response.json({ revalidated: tag, profile })
}
