/**
 * Route handler serving `TagCache#metrics()` of the process's shared engine in the Prometheus
 * text format: `export { GET } from 'tagcache/next/metrics'` in `app/metrics/route.js`
 * (with `export const dynamic = 'force-dynamic'` on Next 14).
 */
export declare function GET(): Response
