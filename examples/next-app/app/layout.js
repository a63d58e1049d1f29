export const metadata = { title: 'tagcache demo' }

const nav = [
  ['/', 'revalidateTag'],
  ['/profile', 'custom cacheLife profile'],
  ['/update-tag', 'updateTag (Server Action)'],
  ['/path-demo', 'revalidatePath'],
  ['/api/tagcache-stats', 'store stats'],
]

export default function RootLayout({ children }) {
  return (
    <html lang="en">
      <body style={{ fontFamily: 'system-ui, sans-serif', maxWidth: 760, margin: '2rem auto' }}>
        <nav style={{ display: 'flex', gap: '1rem', marginBottom: '1.5rem' }}>
          {nav.map(([href, label]) => (
            <a key={href} href={href}>
              {label}
            </a>
          ))}
        </nav>
        {children}
      </body>
    </html>
  )
}
