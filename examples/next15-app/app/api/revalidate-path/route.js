import { revalidatePath } from 'next/cache'

export const dynamic = 'force-dynamic'

export async function GET(request) {
  const path = request.nextUrl.searchParams.get('path')
  if (!path) return Response.json({ error: 'path is required' }, { status: 400 })
  revalidatePath(path)
  return Response.json({ revalidated: path })
}
