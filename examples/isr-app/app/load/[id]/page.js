import { buildLabel, countRender, readTagged, renderStamp } from '../../lib/upstream'

export const revalidate = 3600

/** Nothing prerendered: every id is an on-demand ISR page, rendered on its first request. */
export function generateStaticParams() {
  return []
}

/** Tagged `item-<id>` (its fetch's tag); every render calls the upstream's /render/item-<id>. */
export default async function LoadPage({ params }) {
  const { id } = await params
  await countRender(`item-${id}`)
  const data = await readTagged(`item-${id}`, [`item-${id}`])
  return (
    <main>
      <h1>Item {id}</h1>
      <p>
        rendered at <code data-stamp="load">{`${id}|${renderStamp()}`}</code> by build{' '}
        <code data-stamp="build">{buildLabel}</code>
      </p>
      <p>
        upstream said <code data-stamp="data">{data}</code>
      </p>
    </main>
  )
}
