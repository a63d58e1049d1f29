import { readTagged } from '../../lib/upstream'

export const dynamic = 'force-dynamic'

/** Rendered per request; reads the same cached fetch as /warm/<slug>. */
export default async function WarmDataPage({ params }) {
  const { slug } = await params
  const data = await readTagged(`warm-${slug}`, ['warm', `warm-${slug}`])
  return (
    <main>
      <p>
        upstream said <code data-stamp="data">{data}</code>
      </p>
    </main>
  )
}
