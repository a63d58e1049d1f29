/** GET /api/revalidate-legacy → `res.revalidate('/legacy')` (on-demand ISR, Pages Router). */
export default async function handler(req, res) {
  try {
    await res.revalidate('/legacy')
    res.json({ revalidated: '/legacy' })
  } catch (err) {
    res.status(500).json({ error: String(err && err.message) })
  }
}
