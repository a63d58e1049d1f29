import { cachedTime } from '../lib/cached'

export const dynamic = 'force-dynamic'

export default async function Cached() {
  return (
    <p>
      cached at <code data-stamp="time">{await cachedTime('time', 'hours')}</code>
    </p>
  )
}
