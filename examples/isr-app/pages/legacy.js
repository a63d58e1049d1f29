/** A Pages Router page with getStaticProps + revalidate (PAGES entries). */
export default function Legacy({ value }) {
  return (
    <main>
      <h1>Pages Router</h1>
      <p>
        rendered at <code data-stamp="legacy">{value}</code>
      </p>
    </main>
  )
}

export async function getStaticProps() {
  return {
    props: { value: `${new Date().toISOString()}|${Math.random().toString(36).slice(2, 10)}` },
    revalidate: 2,
  }
}
