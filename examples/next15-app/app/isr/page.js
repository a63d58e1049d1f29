export const revalidate = 2

export default function IsrPage() {
  return (
    <p>
      rendered at{' '}
      <code data-stamp="isr">{`${new Date().toISOString()}|${Math.random().toString(36).slice(2, 10)}`}</code>
    </p>
  )
}
