"""Decorators and helpers views use to know who is calling."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask_jwt_extended import get_jwt, verify_jwt_in_request

from ..errors import ApiError

F = TypeVar("F", bound=Callable[..., Any])


def roles_required(*roles: str) -> Callable[[F], F]:
    """A valid access token whose role is one of `roles` (any role when none are given)."""

    def decorator(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            verify_jwt_in_request()
            if roles and get_jwt().get("role") not in roles:
                raise ApiError(403, "forbidden", f"This needs the {' or '.join(roles)} role.")
            return view(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorator


def caller() -> tuple[str, str]:
    """(username, role) of the verified token of this request."""
    claims = get_jwt()
    return claims["sub"], claims.get("role", "trader")


def can_post_for(user_id: str) -> bool:
    """A trader posts only for itself; service and admin accounts post for anyone."""
    username, role = caller()
    return role in ("service", "admin") or username == user_id
