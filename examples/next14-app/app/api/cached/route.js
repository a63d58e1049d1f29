export const revalidate = 60

/** A cached route handler (a ROUTE entry on Next 14). */
export async function GET() {
  return Response.json({ value: `${new Date().toISOString()}|${Math.random()}` })
}
