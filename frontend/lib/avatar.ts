// Avatars are drawn locally from the user id: no image service, nothing fetched.

function hashString(value: string): number {
  // FNV-1a: small, stable across sessions and browsers.
  let hash = 0x811c9dc5
  for (let i = 0; i < value.length; i++) {
    hash ^= value.charCodeAt(i)
    hash = Math.imul(hash, 0x01000193)
  }
  return hash >>> 0
}

export function avatarColors(userId: string): [string, string] {
  const hash = hashString(userId)
  const hue = hash % 360
  const shift = 40 + ((hash >>> 9) % 80)
  return [`hsl(${hue} 70% 52%)`, `hsl(${(hue + shift) % 360} 75% 38%)`]
}

/** The user-perceived characters of `text`: an emoji (with skin tone, ZWJ sequence or flag) stays whole. */
function graphemes(text: string): string[] {
  if (typeof Intl !== "undefined" && "Segmenter" in Intl) {
    const segmenter = new Intl.Segmenter(undefined, { granularity: "grapheme" })
    return Array.from(segmenter.segment(text), (part) => part.segment)
  }
  return Array.from(text) // code points: never half of a surrogate pair
}

export function initials(name: string): string {
  const words = name.trim().split(/[\s._-]+/).filter(Boolean)
  const letters =
    words.length >= 2
      ? `${graphemes(words[0]!)[0]}${graphemes(words[1]!)[0]}`
      : graphemes(words[0] ?? "?").slice(0, 2).join("")
  return letters.toUpperCase()
}
