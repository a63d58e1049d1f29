export const revalidate = 2

/** An ISR page (a PAGE entry on Next 14), regenerated in the background after 2 s. */
export default function IsrPage() {
  return (
    <p>
      rendered at{' '}
      <code data-stamp="isr">{`${new Date().toISOString()}|${Math.random().toString(36).slice(2, 10)}`}</code>
    </p>
  )
}
