import { Suspense } from 'react'
import { Stamp } from '../lib/stamp'

export default function ProfilePage() {
  return (
    <main>
      <h1>A custom cacheLife profile</h1>
      <Suspense fallback={<p>loading…</p>}>
        <Stamp tag="blog-posts" profile="blog" />
      </Suspense>
      <p>
        The <code>blog</code> profile in next.config.js revalidates after 3 s: reload after 3 s and
        the old time shows once more while a new one is made; the reload after that shows it.{' '}
        <a href="/api/revalidate?tag=blog-posts&profile=blog">
          revalidateTag(&apos;blog-posts&apos;, &apos;blog&apos;)
        </a>{' '}
        resolves the profile from the same config.
      </p>
    </main>
  )
}
