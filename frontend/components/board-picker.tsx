"use client"

import { ChevronsUpDownIcon } from "lucide-react"

import { BoardIcon } from "@/components/board-icon"
import { Button } from "@/components/ui/button"
import {
  DropdownMenu,
  DropdownMenuContent,
  DropdownMenuGroup,
  DropdownMenuLabel,
  DropdownMenuRadioGroup,
  DropdownMenuRadioItem,
  DropdownMenuSeparator,
  DropdownMenuTrigger,
} from "@/components/ui/dropdown-menu"
import type { Board } from "@/lib/schemas"

interface BoardPickerProps {
  boards: readonly Board[]
  value: string
  onChange: (boardId: string) => void
}

const GROUPS: Array<{ label: string; kinds: Board["kind"][] }> = [
  { label: "Symbols", kinds: ["symbol"] },
  { label: "All markets", kinds: ["aggregate"] },
  { label: "Games", kinds: ["game"] },
]

export function BoardPicker({ boards, value, onChange }: BoardPickerProps) {
  const current = boards.find((board) => board.id === value)
  return (
    <DropdownMenu>
      <DropdownMenuTrigger asChild>
        <Button
          variant="outline"
          className="w-full justify-between sm:w-64"
          data-testid="board-picker"
          aria-label={`Board: ${current?.title ?? value}`}
        >
          <span className="flex min-w-0 items-center gap-2">
            {current ? <BoardIcon board={current} /> : null}
            <span className="truncate">{current?.title ?? value}</span>
          </span>
          <ChevronsUpDownIcon className="opacity-60" aria-hidden />
        </Button>
      </DropdownMenuTrigger>
      <DropdownMenuContent align="start" className="w-(--radix-dropdown-menu-trigger-width) min-w-56">
        <DropdownMenuRadioGroup value={value} onValueChange={onChange}>
          {GROUPS.map(({ label, kinds }, index) => {
            const members = boards.filter((board) => kinds.includes(board.kind))
            if (members.length === 0) return null
            return (
              <DropdownMenuGroup key={label}>
                {index > 0 ? <DropdownMenuSeparator /> : null}
                <DropdownMenuLabel className="text-xs text-muted-foreground">{label}</DropdownMenuLabel>
                {members.map((board) => (
                  <DropdownMenuRadioItem
                    key={board.id}
                    value={board.id}
                    data-testid={`board-option-${board.id}`}
                  >
                    <BoardIcon board={board} />
                    <span className="flex-1">{board.title}</span>
                    <span className="text-xs text-muted-foreground">{board.unit}</span>
                  </DropdownMenuRadioItem>
                ))}
              </DropdownMenuGroup>
            )
          })}
        </DropdownMenuRadioGroup>
      </DropdownMenuContent>
    </DropdownMenu>
  )
}
