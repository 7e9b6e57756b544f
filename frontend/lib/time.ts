const pad = (value: number) => String(value).padStart(2, "0")

/** Local wall-clock time of an ISO instant, "hh:mm:ss". */
export function formatClock(iso: string): string {
  const date = new Date(iso)
  if (Number.isNaN(date.getTime())) return "--:--:--"
  return `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`
}

/** Whole seconds from `now` until `iso`, never negative. */
export function secondsUntil(iso: string, now: number): number {
  const target = Date.parse(iso)
  if (Number.isNaN(target)) return 0
  return Math.max(0, Math.ceil((target - now) / 1000))
}

/** A duration as "hh:mm" (rounded up to the minute, so "00:00" only at the reset). */
export function formatHoursMinutes(totalSeconds: number): string {
  const minutes = Math.ceil(totalSeconds / 60)
  return `${pad(Math.floor(minutes / 60))}:${pad(minutes % 60)}`
}

/** Yesterday's UTC date as YYYY-MM-DD: the newest day that can have an archive. */
export function yesterdayUtc(now: number = Date.now()): string {
  return new Date(now - 86_400_000).toISOString().slice(0, 10)
}

export function isIsoDate(value: string | null): value is string {
  return value !== null && /^\d{4}-\d{2}-\d{2}$/.test(value) && !Number.isNaN(Date.parse(value))
}
