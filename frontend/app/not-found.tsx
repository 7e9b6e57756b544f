import { NotFoundView } from "@/components/state-views"

export default function NotFound() {
  return <NotFoundView title="Page not found" description="There is nothing at this address." />
}
