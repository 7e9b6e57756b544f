"use client"

import { useState } from "react"
import { toast } from "sonner"

import { describedBy, FormField, fieldName, selectClassName } from "@/components/form-field"
import { Button } from "@/components/ui/button"
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card"
import { Input } from "@/components/ui/input"
import { api, isApiError, type ApiClient } from "@/lib/api"
import { positiveDecimalError } from "@/lib/decimal"
import type { Side, SymbolInfo } from "@/lib/schemas"
import { cn } from "@/lib/utils"

type TradeField = "symbol" | "side" | "quantity" | "price"
type FieldErrors = Partial<Record<TradeField, string>>
const TRADE_FIELDS: readonly string[] = ["symbol", "side", "quantity", "price"]

interface TradeTicketProps {
  traderId: string
  symbols: readonly SymbolInfo[]
  defaultSymbol?: string | null
  client?: ApiClient
  onAccepted?: () => void
}

function newTradeId(): string {
  return crypto.randomUUID()
}

export function TradeTicket({ traderId, symbols, defaultSymbol, client = api, onAccepted }: TradeTicketProps) {
  const [symbol, setSymbol] = useState(
    () => symbols.find((s) => s.symbol === defaultSymbol)?.symbol ?? symbols[0]?.symbol ?? ""
  )
  const [side, setSide] = useState<Side>("buy")
  const [quantity, setQuantity] = useState("")
  const [price, setPrice] = useState("")
  const [errors, setErrors] = useState<FieldErrors>({})
  const [formError, setFormError] = useState<string | null>(null)
  const [submitting, setSubmitting] = useState(false)

  const info = symbols.find((s) => s.symbol === symbol)

  const validate = (): FieldErrors => {
    if (!info) return { symbol: "Pick a symbol" }
    const found: FieldErrors = {}
    const quantityError = positiveDecimalError(quantity, info.quantity_decimals)
    const priceError = positiveDecimalError(price, info.price_decimals)
    if (quantityError) found.quantity = quantityError
    if (priceError) found.price = priceError
    return found
  }

  const submit = async (event: React.FormEvent) => {
    event.preventDefault()
    setFormError(null)
    const found = validate()
    setErrors(found)
    if (Object.keys(found).length > 0) return
    setSubmitting(true)
    try {
      await client.postTrade({
        trade_id: newTradeId(),
        trader_id: traderId,
        symbol,
        side,
        quantity: quantity.trim(),
        price: price.trim(),
      })
      toast.success("Trade accepted", {
        description: `${side === "buy" ? "Bought" : "Sold"} ${quantity.trim()} ${symbol} at ${price.trim()}`,
      })
      setQuantity("")
      onAccepted?.()
    } catch (error) {
      if (!isApiError(error)) throw error
      const field = fieldName(error.field)
      const reason = typeof error.details.reason === "string" ? error.details.reason : error.message
      if (field && TRADE_FIELDS.includes(field)) setErrors({ [field]: reason })
      else if (error.status === 403) setFormError("You can only post trades for your own account.")
      else setFormError(reason)
    } finally {
      setSubmitting(false)
    }
  }

  // Radio-group keyboard behaviour: arrows move the choice, one tab stop for the group.
  const onSideKeyDown = (event: React.KeyboardEvent<HTMLButtonElement>) => {
    if (!["ArrowLeft", "ArrowRight", "ArrowUp", "ArrowDown"].includes(event.key)) return
    event.preventDefault()
    const next: Side = side === "buy" ? "sell" : "buy"
    setSide(next)
    const sibling = event.currentTarget.parentElement?.querySelector<HTMLButtonElement>(
      `[data-testid="trade-side-${next}"]`
    )
    sibling?.focus()
  }

  if (symbols.length === 0) return null

  return (
    <Card data-testid="trade-ticket">
      <CardHeader>
        <CardTitle>Trade ticket</CardTitle>
        <CardDescription>Post a trade as @{traderId}.</CardDescription>
      </CardHeader>
      <CardContent>
        <form noValidate onSubmit={submit} className="grid gap-3" aria-label="Trade ticket">
          <FormField id="trade-symbol" label="Symbol" error={errors.symbol}>
            <select
              id="trade-symbol"
              data-testid="trade-symbol"
              className={selectClassName}
              value={symbol}
              onChange={(event) => setSymbol(event.target.value)}
              aria-invalid={errors.symbol ? true : undefined}
              aria-describedby={describedBy("trade-symbol", errors.symbol)}
            >
              {symbols.map((s) => (
                <option key={s.symbol} value={s.symbol}>
                  {s.symbol} · {s.name}
                </option>
              ))}
            </select>
          </FormField>
          <fieldset className="grid gap-1.5">
            <legend className="mb-1.5 text-sm font-medium">Side</legend>
            <div role="radiogroup" aria-label="Side" className="grid grid-cols-2 gap-2">
              {(["buy", "sell"] as const).map((option) => (
                <Button
                  key={option}
                  type="button"
                  role="radio"
                  aria-checked={side === option}
                  variant={side === option ? "default" : "outline"}
                  className={cn(
                    side === option && option === "buy" && "bg-emerald-600 text-white hover:bg-emerald-600/90",
                    side === option && option === "sell" && "bg-rose-600 text-white hover:bg-rose-600/90"
                  )}
                  tabIndex={side === option ? 0 : -1}
                  onClick={() => setSide(option)}
                  onKeyDown={onSideKeyDown}
                  data-testid={`trade-side-${option}`}
                >
                  {option === "buy" ? "Buy" : "Sell"}
                </Button>
              ))}
            </div>
            {errors.side ? (
              <p className="text-xs text-destructive" data-testid="trade-side-error" role="alert">
                {errors.side}
              </p>
            ) : null}
          </fieldset>
          <div className="grid grid-cols-2 gap-3">
            <FormField
              id="trade-quantity"
              label="Quantity"
              error={errors.quantity}
              hint={info ? `Up to ${info.quantity_decimals} decimals` : undefined}
            >
              <Input
                id="trade-quantity"
                data-testid="trade-quantity"
                inputMode="decimal"
                autoComplete="off"
                placeholder="0.5"
                value={quantity}
                onChange={(event) => setQuantity(event.target.value)}
                aria-invalid={errors.quantity ? true : undefined}
                aria-describedby={describedBy("trade-quantity", errors.quantity)}
              />
            </FormField>
            <FormField
              id="trade-price"
              label="Price (USD)"
              error={errors.price}
              hint={info ? `Up to ${info.price_decimals} decimals` : undefined}
            >
              <Input
                id="trade-price"
                data-testid="trade-price"
                inputMode="decimal"
                autoComplete="off"
                placeholder="65000.00"
                value={price}
                onChange={(event) => setPrice(event.target.value)}
                aria-invalid={errors.price ? true : undefined}
                aria-describedby={describedBy("trade-price", errors.price)}
              />
            </FormField>
          </div>
          {formError ? (
            <p className="text-sm text-destructive" role="alert" data-testid="trade-form-error">
              {formError}
            </p>
          ) : null}
          <Button type="submit" disabled={submitting} data-testid="trade-submit">
            {submitting ? "Sending…" : `${side === "buy" ? "Buy" : "Sell"} ${symbol}`}
          </Button>
        </form>
      </CardContent>
    </Card>
  )
}
