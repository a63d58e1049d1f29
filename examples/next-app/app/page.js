import { Suspense } from 'react'
import { Stamp } from './lib/stamp'

export default function Home() {
  return (
    <main>
      <h1>tagcache: revalidateTag</h1>
      <Suspense fallback={<p>loading…</p>}>
        <Stamp tag="time" profile="hours" />
      </Suspense>
      <p>
        Reload: the time stays. Open{' '}
        <a href="/api/revalidate?tag=time&profile=max">/api/revalidate?tag=time&amp;profile=max</a>,
        then reload twice: the first reload still shows the old time (stale-while-revalidate), the
        second a new one. With{' '}
        <a href="/api/revalidate?tag=time&expire=0">/api/revalidate?tag=time&amp;expire=0</a> the
        next reload is new at once.
      </p>
    </main>
  )
}
