"use client"

import { useState } from "react"
import { toast } from "sonner"

import { describedBy, FormField } from "@/components/form-field"
import { Button } from "@/components/ui/button"
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card"
import { Input } from "@/components/ui/input"
import { api, isApiError, type ApiClient } from "@/lib/api"
import type { Board } from "@/lib/schemas"

interface ScoreFormProps {
  board: Board
  userId: string
  client?: ApiClient
  onAccepted?: () => void
}

/** A game score: first a single-use action from the API, then the score tied to it. */
export function ScoreForm({ board, userId, client = api, onAccepted }: ScoreFormProps) {
  const [score, setScore] = useState("")
  const [error, setError] = useState<string | null>(null)
  const [submitting, setSubmitting] = useState(false)

  const submit = async (event: React.FormEvent) => {
    event.preventDefault()
    const value = score.trim()
    if (!/^\d+$/.test(value)) return setError("Enter a whole number of points, 0 or more")
    if (!Number.isSafeInteger(Number(value))) return setError("That score is too large")
    setError(null)
    setSubmitting(true)
    try {
      const action = await client.createAction()
      await client.postScore({ user_id: userId, score: Number(value), action_id: action.action_id, board: board.id })
      toast.success("Score accepted", { description: `${value} points on ${board.title}` })
      setScore("")
      onAccepted?.()
    } catch (caught) {
      if (!isApiError(caught)) throw caught
      setError(caught.code === "action_used" ? "That action was already used. Try again." : caught.message)
    } finally {
      setSubmitting(false)
    }
  }

  return (
    <Card data-testid="score-form">
      <CardHeader>
        <CardTitle>Post a score</CardTitle>
        <CardDescription>
          {board.mode === "best" ? "Your best score counts." : "Scores add up."}
        </CardDescription>
      </CardHeader>
      <CardContent>
        <form noValidate onSubmit={submit} className="grid gap-3" aria-label="Post a score">
          <FormField id="score-value" label="Score" error={error}>
            <Input
              id="score-value"
              data-testid="score-input"
              inputMode="numeric"
              autoComplete="off"
              placeholder="1200"
              value={score}
              onChange={(event) => setScore(event.target.value)}
              aria-invalid={error ? true : undefined}
              aria-describedby={describedBy("score-value", error)}
            />
          </FormField>
          <Button type="submit" disabled={submitting} data-testid="score-submit">
            {submitting ? "Sending…" : "Post score"}
          </Button>
        </form>
      </CardContent>
    </Card>
  )
}
