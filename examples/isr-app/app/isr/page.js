export const revalidate = 2

/** An ISR page: regenerated in the background once it is older than 2 s. */
export default function IsrPage() {
  const value = `${new Date().toISOString()}|${Math.random().toString(36).slice(2, 10)}`
  return (
    <main>
      <h1>ISR page (revalidate = 2)</h1>
      <p>
        rendered at <code data-stamp="isr">{value}</code>
      </p>
    </main>
  )
}
