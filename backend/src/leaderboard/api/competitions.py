"""Competitions: create (admin), list, read, join/leave, leaderboard, member status, metrics (service),
moderation (admin), teams, results; and deleting a user everywhere (admin)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, current_app, request

from ..api_errors import ApiError, validation_error
from ..auth.guards import caller, roles_required
from ..clock import iso, to_ms
from ..competitions import finalize, moderation
from ..competitions.model import (
    InvalidCompetition,
    parse_amount,
    parse_time,
    validate_competition,
)
from ..competitions.service import CompetitionRegistry, Competitions
from ..competitions.webhooks import Policy
from ..context import app_clock, current_settings
from ..defaults import MAX_PRIZE_TIERS, MAX_TEAM_SIZE
from ..http import json_response
from ..redis_conn import get_redis
from .body import read_json_object
from .params import cursor_arg, limit_arg, member_id

bp = Blueprint("competitions", __name__, url_prefix="/v1")

REGISTRY_KEY = "leaderboard.competitions"
MAX_METRIC_ENTRIES = 1000


def _registry() -> CompetitionRegistry:
    registry: CompetitionRegistry | None = current_app.extensions.get(REGISTRY_KEY)
    if registry is None:
        settings = current_settings()
        registry = current_app.extensions.setdefault(
            REGISTRY_KEY, CompetitionRegistry(get_redis(), settings.COMPETITION_CACHE_SECONDS))
    return registry


def _service() -> Competitions:
    return Competitions(get_redis(), _registry())


def _now_ms() -> int:
    return to_ms(app_clock()())


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)


@bp.post("/competitions")
@roles_required("admin")
def create_competition() -> Any:
    """Create a competition (admin).
    ---
    tags: [competitions]
    """
    body = read_json_object()
    settings = current_settings()
    try:
        comp = validate_competition(
            body, resolution_ms=settings.TIES_RESOLUTION_MS, max_days=settings.MAX_COMPETITION_DAYS,
            max_tiers=MAX_PRIZE_TIERS, max_team_size=MAX_TEAM_SIZE, max_volume=settings.MAX_TRADE_NOTIONAL,
            webhook_signing=bool(settings.WEBHOOK_SECRET), webhook=Policy.of(settings).url_rules(settings),
            created_ms=_now_ms(), start_skew_ms=int(settings.COMPETITION_START_SKEW_SECONDS * 1000))
    except InvalidCompetition as exc:
        raise validation_error(str(exc), field=exc.field, reason=exc.reason) from None
    if not _registry().create(comp):
        raise ApiError(409, "competition_exists", f"A competition {comp.id!r} already exists.",
                       {"competition": comp.id})
    return json_response(_service().describe(comp, _now_ms()), 201)


@bp.get("/competitions")
def list_competitions() -> Any:
    """Competitions: live first, then upcoming, finalizing, finished; `status` filters.
    ---
    tags: [competitions]
    """
    status = request.args.get("status")
    if status is not None and status not in ("upcoming", "live", "finalizing", "finished"):
        raise ApiError(400, "invalid_status", "status must be one of upcoming, live, finalizing, finished.",
                       {"allowed": ["upcoming", "live", "finalizing", "finished"]})
    return json_response({"competitions": _service().listing(_now_ms(), status)})


@bp.get("/competitions/<comp_id>")
def get_competition(comp_id: str) -> Any:
    """One competition: status, window, time left, participants, prize tiers.
    ---
    tags: [competitions]
    """
    service = _service()
    return json_response(service.describe(service.registry.get(comp_id), _now_ms()))


@bp.post("/competitions/<comp_id>/join")
@roles_required()
def join(comp_id: str) -> Any:
    """Join a competition as yourself (before its end); 201, or 200 when already joined.
    ---
    tags: [competitions]
    """
    service = _service()
    comp = service.registry.get(comp_id)
    username, _role = caller()
    added = service.join(comp, username, _now_ms())
    return json_response({"competition": comp.id, "user_id": username, "joined": True}, 201 if added else 200)


@bp.delete("/competitions/<comp_id>/join")
@roles_required()
def leave(comp_id: str) -> Any:
    """Leave a competition (before its start).
    ---
    tags: [competitions]
    """
    service = _service()
    comp = service.registry.get(comp_id)
    username, _role = caller()
    service.leave(comp, username, _now_ms())
    return json_response({"competition": comp.id, "user_id": username, "joined": False})


@bp.get("/competitions/<comp_id>/leaderboard")
def competition_leaderboard(comp_id: str) -> Any:
    """Ranked, qualified, not disqualified participants, read live. `first_reached` ranks are unique.
    ---
    tags: [competitions]
    """
    service = _service()
    comp = service.registry.get(comp_id)
    limit = limit_arg()
    cursor = cursor_arg(f"competition:{comp.id}", "competition")
    return json_response(service.leaderboard_body(comp, cursor.offset if cursor is not None else 0, limit,
                                                  app_clock()()))


@bp.get("/competitions/<comp_id>/members/<user_id>")
def competition_member(comp_id: str, user_id: str) -> Any:
    """A member's status: rank among the qualified, score, volume, what is missing to qualify, prize now.
    ---
    tags: [competitions]
    """
    service = _service()
    comp = service.registry.get(comp_id)
    return json_response(service.member_view(comp, member_id(user_id), _now_ms()))


@bp.post("/competitions/<comp_id>/metrics")
@roles_required("service", "admin")
def post_metrics(comp_id: str) -> Any:
    """PnL / ROI / score values computed by the venue (service): last `as_of` wins, exactly once per
    (trader, as_of); an older `as_of` never overwrites a newer one. Values dated outside the window are 422.
    ---
    tags: [competitions]
    """
    service = _service()
    comp = service.registry.get(comp_id)
    settings = current_settings()
    if _now_ms() >= comp.ends_at_ms + settings.FINALIZE_GRACE_SECONDS * 1000:
        raise ApiError(409, "competition_final", "The competition's grace has passed; its result is final.",
                       {"competition": comp.id})
    body = read_json_object({"entries"})
    raw = body.get("entries")
    if comp.metric == "volume":
        raise validation_error("entries: a volume competition counts trades; metrics are for pnl, roi and score.",
                               field="entries", reason="volume competition")
    if not isinstance(raw, list) or not 1 <= len(raw) <= MAX_METRIC_ENTRIES:
        raise validation_error(f"entries: a list of 1-{MAX_METRIC_ENTRIES} entries", field="entries")
    entries: list[tuple[str, int, int]] = []
    for index, item in enumerate(raw):
        try:
            if not isinstance(item, dict) or set(item) != {"trader_id", "value", "as_of"}:
                raise InvalidCompetition("entry", "an object {trader_id, value, as_of}")
            trader = item["trader_id"]
            if not isinstance(trader, str) or not 1 <= len(trader) <= 128 or not _member_ok(trader):
                raise InvalidCompetition("trader_id", "1-128 characters without spaces, commas or slashes")
            value = parse_amount(item["value"], comp.decimals, "value", signed=comp.metric != "score",
                                 limit=comp.max_score)
            as_of = parse_time(item["as_of"], "as_of")
            if not comp.in_window(as_of):
                raise InvalidCompetition("as_of", "outside the competition's window [starts_at, ends_at)")
        except InvalidCompetition as exc:
            raise validation_error(f"entries[{index}].{exc}", index=index, field=exc.field,
                                   reason=exc.reason) from None
        entries.append((trader, value, as_of))
    return json_response({"counted": service.post_metrics(comp, entries)})


def disqualification_request() -> tuple[str, str]:
    """(user_id, reason) of a disqualification's body (competitions and boards): 422 naming the bad field."""
    body = read_json_object({"user_id", "reason"})
    user_id, reason = body.get("user_id"), body.get("reason")
    if not isinstance(user_id, str) or not _member_ok(user_id):
        raise validation_error("user_id: a member id", field="user_id")
    if not isinstance(reason, str) or not 1 <= len(reason) <= 200 or not reason.isprintable():
        raise validation_error("reason: 1-200 printable characters", field="reason")
    return user_id, reason


def _member_ok(raw: str) -> bool:
    from .params import MEMBER_ID_PATTERN

    return bool(MEMBER_ID_PATTERN.fullmatch(raw))


@bp.get("/competitions/<comp_id>/results")
def results(comp_id: str) -> Any:
    """The final, frozen result with each winner's prize; 404 `results_not_final` before finalization.
    ---
    tags: [competitions]
    """
    service = _service()
    comp = service.registry.get(comp_id)
    frozen = finalize.stored_results(get_redis(), comp)
    if frozen is None:
        raise ApiError(404, "results_not_final", "The competition's result is not final yet.",
                       {"competition": comp.id, "status": comp.status(_now_ms(), False)})
    return current_app.response_class(frozen, status=200, mimetype="application/json")


@bp.post("/competitions/<comp_id>/disqualifications")
@roles_required("admin")
def disqualify(comp_id: str) -> Any:
    """Disqualify a member (admin): it leaves the ranks at once, the others move up; reversible.
    ---
    tags: [competitions]
    """
    service = _service()
    comp = service.registry.get(comp_id)
    user_id, reason = disqualification_request()
    admin, _role = caller()
    at = iso(app_clock()())
    service.disqualify(comp, user_id, reason, admin, at)
    return json_response({"action": "disqualify", "member": user_id, "reason": reason, "by": admin, "at": at}, 201)


@bp.delete("/competitions/<comp_id>/disqualifications/<user_id>")
@roles_required("admin")
def reinstate(comp_id: str, user_id: str) -> Any:
    """Reinstate a disqualified member (admin).
    ---
    tags: [competitions]
    """
    service = _service()
    comp = service.registry.get(comp_id)
    admin, _role = caller()
    at = iso(app_clock()())
    service.reinstate(comp, member_id(user_id), admin, at)
    return json_response({"action": "reinstate", "member": user_id, "reason": None, "by": admin, "at": at})


@bp.get("/competitions/<comp_id>/audit")
@roles_required("admin")
def audit(comp_id: str) -> Any:
    """The moderation audit trail of a competition (admin), oldest first.
    ---
    tags: [competitions]
    """
    service = _service()
    return json_response({"entries": service.audit(service.registry.get(comp_id))})


@bp.post("/competitions/<comp_id>/teams")
@roles_required()
def create_team(comp_id: str) -> Any:
    """Create a team (you are its first member); its `code` lets others join.
    ---
    tags: [competitions]
    """
    service = _service()
    comp = service.registry.get(comp_id)
    body = read_json_object({"name"})
    name = body.get("name")
    if not isinstance(name, str) or not 1 <= len(name) <= 48 or not name.isprintable():
        raise validation_error("name: 1-48 printable characters", field="name")
    username, _role = caller()
    team = service.create_team(comp, username, name)
    return json_response({"team_id": team["id"], "name": name, "code": team["code"], "members": [username]}, 201)


@bp.post("/competitions/<comp_id>/teams/join")
@roles_required()
def join_team(comp_id: str) -> Any:
    """Join a team with its code.
    ---
    tags: [competitions]
    """
    service = _service()
    comp = service.registry.get(comp_id)
    body = read_json_object({"code"})
    code = body.get("code")
    if not isinstance(code, str) or not 1 <= len(code) <= 32 or not code.isalnum():
        raise validation_error("code: the team's join code", field="code")
    username, _role = caller()
    team = service.join_team(comp, username, code)
    return json_response({"team_id": team["id"], "name": team["name"], "code": team["code"],
                          "members": team["members"]})


@bp.get("/competitions/<comp_id>/teams")
def teams(comp_id: str) -> Any:
    """Team leaderboard: the sum of each team's `team_top_n` best ranked members (all when unset).
    ---
    tags: [competitions]
    """
    service = _service()
    comp = service.registry.get(comp_id)
    return json_response({"competition": comp.id, "teams": service.teams(comp)})


@bp.delete("/users/<user_id>")
@roles_required("admin")
def delete_user(user_id: str) -> Any:
    """Delete a user everywhere (admin; privacy requests): its account, display name, every board and
    archive, every competition not yet final (finished results show it as `deleted`). Only the fact that a
    deletion happened is recorded (when, by whom), never whose.
    ---
    tags: [competitions]
    """
    member = member_id(user_id)
    admin, _role = caller()
    changed = moderation.delete_user(get_redis(), _registry(), member, admin, iso(app_clock()()))
    return json_response({"deleted": True, "keys_changed": changed})

