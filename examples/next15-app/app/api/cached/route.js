export const revalidate = 60

export async function GET() {
  return Response.json({ value: `${new Date().toISOString()}|${Math.random()}` })
}
