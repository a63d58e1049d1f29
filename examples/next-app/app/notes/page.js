import { Suspense } from 'react'
import { Stamp } from '../lib/stamp'

/** Another cached value tagged `notes` (a different cache key from /update-tag's). */
export default function NotesPage() {
  return (
    <main>
      <h1>Also tagged notes</h1>
      <Suspense fallback={<p>loading…</p>}>
        <Stamp tag="notes" profile="hours" />
      </Suspense>
      <p>
        After the button on <a href="/update-tag">/update-tag</a>, this value is new too: the tag
        expired in tagcache, not only in that request.
      </p>
    </main>
  )
}
