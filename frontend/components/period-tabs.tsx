"use client"

import { Tabs, TabsList, TabsTrigger } from "@/components/ui/tabs"
import { PERIOD_LABELS, isPeriod, type Period } from "@/lib/schemas"

interface PeriodTabsProps {
  periods: readonly Period[]
  value: Period
  onChange: (period: Period) => void
}

/** Period switcher; Radix tabs give arrow-key navigation between periods. */
export function PeriodTabs({ periods, value, onChange }: PeriodTabsProps) {
  return (
    <Tabs
      value={value}
      onValueChange={(next) => isPeriod(next) && onChange(next)}
      data-testid="period-tabs"
    >
      <TabsList aria-label="Period" className="w-full sm:w-fit">
        {periods.map((period) => (
          <TabsTrigger key={period} value={period} data-testid={`period-tab-${period}`} className="px-3">
            {PERIOD_LABELS[period]}
          </TabsTrigger>
        ))}
      </TabsList>
    </Tabs>
  )
}
