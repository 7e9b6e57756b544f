import { describe, expect, it } from "vitest"

import { initials } from "@/lib/avatar"

describe("initials", () => {
  it("takes the first letter of two words, or two letters of one", () => {
    expect(initials("Alice Smith")).toBe("AS")
    expect(initials("bob")).toBe("BO")
    expect(initials("  ")).toBe("?")
  })

  it("never splits an emoji into a broken glyph", () => {
    expect(initials("🚀 Rocket")).toBe("🚀R")
    expect(initials("👩‍🚀 Ada")).toBe("👩‍🚀A") // a ZWJ sequence stays one character
    expect(initials("👍🏽")).toBe("👍🏽") // emoji with a skin tone
    expect(initials("🇫🇷🇩🇪")).toBe("🇫🇷🇩🇪") // two flags, each two code points
    for (const name of ["🚀 Rocket", "😀x", "𝒜lice"]) {
      expect(initials(name)).not.toMatch(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/)
    }
  })
})
