import { cachedTime } from '../lib/cached'

export const dynamic = 'force-dynamic'

export default async function PathDemo() {
  return (
    <p>
      cached at <code data-stamp="path-demo">{await cachedTime('path-demo', 'max')}</code>
    </p>
  )
}
