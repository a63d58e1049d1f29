import { revalidatePath } from 'next/cache'

/** GET /api/revalidate-path?path=/path-demo[&type=page] → revalidatePath(path, type) */
export async function GET(request) {
  const params = request.nextUrl.searchParams
  const path = params.get('path')
  if (!path) return Response.json({ error: 'path is required' }, { status: 400 })
  revalidatePath(path, params.get('type') || undefined)
  return Response.json({ revalidated: path })
}
