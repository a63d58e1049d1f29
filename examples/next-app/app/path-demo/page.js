import { Suspense } from 'react'
import { Stamp } from '../lib/stamp'

export default function PathDemo() {
  return (
    <main>
      <h1>revalidatePath</h1>
      <Suspense fallback={<p>loading…</p>}>
        <Stamp tag="path-demo" profile="max" />
      </Suspense>
      <p>
        Open <a href="/api/revalidate-path?path=/path-demo">/api/revalidate-path?path=/path-demo</a>
        , then reload: the time is new at once (the page&apos;s implicit tag expired).
      </p>
    </main>
  )
}
