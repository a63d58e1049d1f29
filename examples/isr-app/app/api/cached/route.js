export const revalidate = 60

/** A cached route handler (APP_ROUTE entry). */
export async function GET() {
  return Response.json({ value: `${new Date().toISOString()}|${Math.random()}` })
}
