export const dynamic = 'force-dynamic'

/** Rendered per request; the upstream response comes from the fetch cache (tag `upstream`). */
export default async function FetchPage() {
  const upstream = process.env.UPSTREAM_URL
  if (!upstream) return <p>Set UPSTREAM_URL to a server that answers GET /data.</p>
  const res = await fetch(`${upstream}/data`, {
    cache: 'force-cache',
    next: { tags: ['upstream'] },
  })
  const data = await res.json()
  return (
    <main>
      <h1>fetch cache</h1>
      <p>
        upstream said <code data-stamp="upstream">{data.value}</code>
      </p>
      <p>
        Reload: the same value (the fetch is cached).{' '}
        <a href="/api/revalidate?tag=upstream&profile=max">
          revalidateTag(&apos;upstream&apos;, &apos;max&apos;)
        </a>{' '}
        serves it once more, then a new one.
      </p>
    </main>
  )
}
