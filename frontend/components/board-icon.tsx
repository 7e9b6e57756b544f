"use client"

import { useState } from "react"
import { Gamepad2Icon, LayersIcon } from "lucide-react"

import type { Board } from "@/lib/schemas"
import { cn } from "@/lib/utils"

/** The board's same-origin icon, or a local glyph when it has none or it fails. */
export function BoardIcon({ board, className }: { board: Board; className?: string }) {
  const [failed, setFailed] = useState(false)
  const size = cn("size-5 shrink-0", className)
  if (board.icon && !failed) {
    return (
      // eslint-disable-next-line @next/next/no-img-element -- static export, same-origin svg
      <img src={board.icon} alt="" className={size} onError={() => setFailed(true)} />
    )
  }
  if (board.kind === "game") return <Gamepad2Icon aria-hidden className={size} />
  if (board.kind === "aggregate") return <LayersIcon aria-hidden className={size} />
  return (
    <span
      aria-hidden
      className={cn(
        "inline-flex items-center justify-center rounded-full bg-muted text-[9px] font-bold",
        size
      )}
    >
      {(board.symbol ?? board.id).slice(0, 3).toUpperCase()}
    </span>
  )
}
