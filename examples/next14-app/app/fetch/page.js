export const dynamic = 'force-dynamic'

/** A tagged fetch (FETCH entries): cached until `revalidateTag('upstream')`. */
export default async function FetchPage() {
  const upstream = process.env.UPSTREAM_URL
  if (!upstream) return <p>Set UPSTREAM_URL to a server that answers GET /data.</p>
  const res = await fetch(`${upstream}/data`, {
    cache: 'force-cache',
    next: { tags: ['upstream'] },
  })
  const data = await res.json()
  return (
    <p>
      upstream said <code data-stamp="upstream">{data.value}</code>
    </p>
  )
}
