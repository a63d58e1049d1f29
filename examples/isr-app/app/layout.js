export const metadata = { title: 'tagcache ISR demo' }

export default function RootLayout({ children }) {
  return (
    <html lang="en">
      <body style={{ fontFamily: 'system-ui, sans-serif', maxWidth: 760, margin: '2rem auto' }}>
        <nav style={{ display: 'flex', gap: '1rem', marginBottom: '1.5rem' }}>
          <a href="/fetch">fetch cache</a>
          <a href="/isr">ISR page</a>
          <a href="/api/cached">cached route</a>
          <a href="/legacy">Pages Router</a>
          <a href="/api/tagcache-stats">store stats</a>
        </nav>
        {children}
      </body>
    </html>
  )
}
