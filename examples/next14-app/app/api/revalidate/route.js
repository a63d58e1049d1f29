import { revalidateTag } from 'next/cache'

export const dynamic = 'force-dynamic'

/** GET /api/revalidate?tag=… → Next 14's one-argument revalidateTag(tag): expired at once. */
export async function GET(request) {
  const tag = request.nextUrl.searchParams.get('tag')
  if (!tag) return Response.json({ error: 'tag is required' }, { status: 400 })
  revalidateTag(tag)
  return Response.json({ revalidated: tag })
}
