"""Bearer API keys scoped to a workspace, with roles."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from ocma_core.context import Ocma
from ocma_core.db.models import ROLE_RANK, Role
from ocma_core.permissions import Action, check, least_role
from ocma_core.services.workspaces import authenticate

bearer = HTTPBearer(auto_error=False, description="An OCMA API key: `ocma apikeys create` prints one.")


@dataclass(frozen=True)
class Caller:
    """Who is calling: the key's workspace and role."""

    workspace_id: str
    role: Role
    key_id: str

    def allows(self, role: Role) -> bool:
        """True when the caller's role is at least `role`."""
        return ROLE_RANK[self.role] >= ROLE_RANK[role]


def get_ocma(request: Request) -> Ocma:
    """The app's OCMA context."""
    ocma: Ocma = request.app.state.ocma
    return ocma


def require(action: Action | Role = Role.VIEWER) -> Callable[..., Caller]:
    """A dependency that authenticates the key and checks that its role may do `action`.

    Routes name an Action (ocma_core.permissions); a bare Role is accepted for routes not yet converted,
    and `tests/security/test_route_roles.py` fails until they name one.
    """

    def dependency(
        request: Request, credentials: HTTPAuthorizationCredentials | None = Depends(bearer)
    ) -> Caller:
        if credentials is None:
            raise HTTPException(
                401,
                "Missing API key: send `Authorization: Bearer <key>` (create one with `ocma apikeys create`).",
                headers={"WWW-Authenticate": "Bearer"},
            )
        record = authenticate(get_ocma(request), credentials.credentials)
        if record is None:
            raise HTTPException(401, "Invalid or revoked API key.", headers={"WWW-Authenticate": "Bearer"})
        caller = Caller(workspace_id=record.workspace_id, role=Role(record.role), key_id=record.key_id)
        if isinstance(action, Action):
            check(caller.role, action, "api")  # PermissionDenied: a 403 problem saying what to ask for
        elif not caller.allows(action):
            raise HTTPException(403, f"This needs the {action.value} role; this key has {caller.role.value}.")
        return caller

    least = least_role(action, "api") if isinstance(action, Action) else action
    dependency.ocma_action = action  # type: ignore[attr-defined]  # read by the generated role tests
    dependency.ocma_role = least.value  # type: ignore[attr-defined]  # the least role (OpenAPI's 401/403)
    return dependency
