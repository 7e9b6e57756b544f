import type { Entry } from "@/lib/schemas"

export type Movement =
  | { kind: "up"; by: number }
  | { kind: "down"; by: number }
  | { kind: "same" }
  | { kind: "new" }

export type RankSnapshot = ReadonlyMap<string, number>

export function snapshotRanks(entries: readonly Entry[]): RankSnapshot {
  return new Map(entries.map((entry) => [entry.user_id, entry.rank]))
}

/**
 * How each member moved since the previous poll. Without a previous snapshot
 * (first load, new board or period) nothing is marked, rather than everyone "new".
 */
export function rankMovements(
  previous: RankSnapshot | null,
  entries: readonly Entry[]
): Map<string, Movement> {
  const movements = new Map<string, Movement>()
  if (!previous) return movements
  for (const entry of entries) {
    const before = previous.get(entry.user_id)
    if (before === undefined) movements.set(entry.user_id, { kind: "new" })
    else if (entry.rank < before) movements.set(entry.user_id, { kind: "up", by: before - entry.rank })
    else if (entry.rank > before) movements.set(entry.user_id, { kind: "down", by: entry.rank - before })
    else movements.set(entry.user_id, { kind: "same" })
  }
  return movements
}
