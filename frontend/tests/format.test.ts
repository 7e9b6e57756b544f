import { describe, expect, it } from "vitest"

import { formatDecimal, formatScore, positiveDecimalError } from "@/lib/decimal"

describe("formatScore", () => {
  it("formats USD with grouping and the board's decimals", () => {
    expect(formatScore("12345.67", "USD", 2)).toBe("$12,345.67")
    expect(formatScore("0.5", "USD", 2)).toBe("$0.50")
    expect(formatScore("7", "USD", 2)).toBe("$7.00")
  })

  it("formats points with no decimals", () => {
    expect(formatScore("1200", "points", 0)).toBe("1,200 pts")
  })

  it("keeps big numbers exact where a float would round", () => {
    // 2^53 + 1 cents and a 20-digit value: Number() would change the last digits.
    expect(formatScore("90071992547409.93", "USD", 2)).toBe("$90,071,992,547,409.93")
    expect(formatScore("12345678901234567891", "points", 0)).toBe("12,345,678,901,234,567,891 pts")
    expect(formatDecimal("0.29", 2)).toBe("0.29")
  })

  it("rounds extra digits half up without floats", () => {
    expect(formatDecimal("1.005", 2)).toBe("1.01")
    expect(formatDecimal("999.995", 2)).toBe("1,000.00")
    expect(formatDecimal("-5.5", 0)).toBe("-6")
  })

  it("prints negative USD with the sign before the symbol", () => {
    expect(formatScore("-3.2", "USD", 2)).toBe("-$3.20")
  })
})

describe("positiveDecimalError", () => {
  it("accepts positive decimals within the allowed places", () => {
    expect(positiveDecimalError("0.001", 3)).toBeNull()
    expect(positiveDecimalError("12", 0)).toBeNull()
  })

  it("rejects zero, negatives, junk and too many places", () => {
    expect(positiveDecimalError("", 2)).toBe("Required")
    expect(positiveDecimalError("0.00", 2)).toBe("Must be greater than 0")
    expect(positiveDecimalError("-1", 2)).toMatch(/positive number/)
    expect(positiveDecimalError("1e5", 2)).toMatch(/positive number/)
    expect(positiveDecimalError("1.234", 2)).toBe("At most 2 decimal places")
    expect(positiveDecimalError("1.5", 0)).toBe("Whole numbers only")
  })
})
