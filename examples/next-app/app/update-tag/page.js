import { Suspense } from 'react'
import { Stamp } from '../lib/stamp'
import { refreshNotes } from './actions'

export default function UpdateTagPage() {
  return (
    <main>
      <h1>updateTag from a Server Action</h1>
      <Suspense fallback={<p>loading…</p>}>
        <Stamp tag="notes" profile="days" />
      </Suspense>
      <form action={refreshNotes}>
        <button type="submit">updateTag(&apos;notes&apos;)</button>
      </form>
      <p>Press the button: the page comes back with a new time at once (read-your-own-writes).</p>
    </main>
  )
}
