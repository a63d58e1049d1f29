// Prometheus scrapes this: the tagcache engine's counters and latencies.
export { GET } from 'tagcache/next/metrics'
export const dynamic = 'force-dynamic'
