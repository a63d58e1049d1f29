import { buildLabel, countRender, readTagged, renderStamp } from '../../lib/upstream'

export const revalidate = 3600

/** Prerendered by `next build` (a, b, c); more slugs are rendered on demand and cached. */
export function generateStaticParams() {
  return [{ slug: 'a' }, { slug: 'b' }, { slug: 'c' }]
}

/**
 * A prerendered ISR page tagged `warm` and `warm-<slug>` (its fetch's tags): every render
 * calls the upstream's /render/warm-<slug>, its data is the cached fetch /data/warm-<slug>.
 */
export default async function WarmPage({ params }) {
  const { slug } = await params
  await countRender(`warm-${slug}`)
  const data = await readTagged(`warm-${slug}`, ['warm', `warm-${slug}`])
  return (
    <main>
      <h1>Prerendered page {slug}</h1>
      <p>
        rendered at <code data-stamp="render">{renderStamp()}</code> by build{' '}
        <code data-stamp="build">{buildLabel}</code>
      </p>
      <p>
        upstream said <code data-stamp="data">{data}</code>
      </p>
    </main>
  )
}
