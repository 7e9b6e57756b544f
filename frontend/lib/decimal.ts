// Decimal strings handled as text and BigInt, never as floats, so
// "90071992547409.93" prints exactly and validation matches the server's.

const DECIMAL_PATTERN = /^(-)?(\d+)(?:\.(\d+))?$/

interface ParsedDecimal {
  negative: boolean
  integer: string
  fraction: string
}

function parseDecimal(value: string): ParsedDecimal | null {
  const match = DECIMAL_PATTERN.exec(value.trim())
  if (!match) return null
  return { negative: match[1] === "-", integer: match[2] ?? "0", fraction: match[3] ?? "" }
}

/** Rounds half away from zero to `decimals` places, working on digits only. */
function toFixedDigits({ integer, fraction }: ParsedDecimal, decimals: number) {
  if (fraction.length <= decimals) {
    return { integer, fraction: fraction.padEnd(decimals, "0") }
  }
  const scaled = BigInt(integer + fraction.slice(0, decimals))
  const roundUp = Number(fraction[decimals]) >= 5
  const digits = (roundUp ? scaled + 1n : scaled).toString().padStart(decimals + 1, "0")
  return {
    integer: digits.slice(0, digits.length - decimals).replace(/^0+(?=\d)/, ""),
    fraction: digits.slice(digits.length - decimals),
  }
}

function groupThousands(integer: string): string {
  return integer.replace(/\B(?=(\d{3})+(?!\d))/g, ",")
}

/** "1234567.5", 2 → "1,234,567.50" (exact for any length). */
export function formatDecimal(value: string, decimals: number): string {
  const parsed = parseDecimal(value)
  if (!parsed) return value
  const { integer, fraction } = toFixedDigits(parsed, Math.max(0, decimals))
  const isZero = /^0*$/.test(integer + fraction)
  const sign = parsed.negative && !isZero ? "-" : ""
  return `${sign}${groupThousands(integer)}${fraction ? `.${fraction}` : ""}`
}

const UNIT_SUFFIXES: Record<string, string> = { points: "pts", pts: "pts" }

/** A score in its board's unit: "$12,345.67" for USD, "1,200 pts" for points. */
export function formatScore(value: string, unit: string, decimals: number): string {
  const number = formatDecimal(value, decimals)
  if (unit.toUpperCase() === "USD") {
    return number.startsWith("-") ? `-$${number.slice(1)}` : `$${number}`
  }
  const suffix = UNIT_SUFFIXES[unit.toLowerCase()] ?? unit
  return suffix ? `${number} ${suffix}` : number
}

/** Why `value` is not a positive decimal with at most `maxDecimals` places, or null. */
export function positiveDecimalError(value: string, maxDecimals: number): string | null {
  const trimmed = value.trim()
  if (trimmed === "") return "Required"
  const parsed = parseDecimal(trimmed)
  if (!parsed || parsed.negative) return "Enter a positive number, like 1.25"
  if (/^0*$/.test(parsed.integer + parsed.fraction)) return "Must be greater than 0"
  if (parsed.fraction.length > maxDecimals) {
    return maxDecimals === 0
      ? "Whole numbers only"
      : `At most ${maxDecimals} decimal place${maxDecimals === 1 ? "" : "s"}`
  }
  return null
}
