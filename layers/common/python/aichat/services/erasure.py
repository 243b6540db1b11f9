"""An operator erases everything of one user in their own tenant: started by the route, run by the scheduler."""

from __future__ import annotations

import time
from dataclasses import dataclass

from aichat.core.errors import Forbidden, InvalidInput
from aichat.core.identity import Identity
from aichat.core.logs import logger
from aichat.core.models import ErasureOut
from aichat.notify.domain_events import DomainEvents, user_data_erased
from aichat.table.erasures import Erasures

# Bytes of a user id, as the token's claims are bounded (api.md "Identity"); '#' separates key parts.
_MAX_USER_ID_BYTES = 256


@dataclass(frozen=True)
class ErasureRun:
    """One run of the scheduled runner: erasures it worked on, steps taken, erasures finished."""

    worked_on: int
    steps: int
    finished: int


class ErasureService:
    """Admins start and watch erasures of their tenant's users; the runner advances them within its time."""

    def __init__(self, erasures: Erasures, events: DomainEvents) -> None:
        self._erasures = erasures
        self._events = events

    def erase_user(self, admin: Identity, user_id: str) -> ErasureOut:
        """Start erasing `user_id`'s data in the admin's tenant. A user id unknown there erases nothing (and says
        so only through the counts, so the route tells no one who exists)."""
        _require_admin(admin)
        if "#" in user_id or not 0 < len(user_id.encode()) <= _MAX_USER_ID_BYTES:
            raise InvalidInput(f"user_id must be 1-{_MAX_USER_ID_BYTES} bytes without '#', as the token's sub "
                               "claim is; send the user's id as their tokens carry it.", field="user_id")
        erasure = self._erasures.start(admin.tenant_id, user_id, admin.user_id)
        logger().info("erasure started", extra={"erasure_id": erasure.id, "erased_user": user_id})
        return erasure.to_api()

    def status(self, admin: Identity, erasure_id: str) -> ErasureOut:
        """How far an erasure of the admin's tenant got; ErasureNotFound for any other."""
        _require_admin(admin)
        return self._erasures.get(erasure_id, admin.tenant_id).to_api()

    def run(self, seconds: float) -> ErasureRun:
        """Advance every running erasure step by step until each is done or `seconds` have passed; each finished
        one is announced as UserDataErased."""
        deadline = time.monotonic() + seconds
        worked_on = steps = finished = 0
        for erasure in self._erasures.running():
            if time.monotonic() >= deadline:
                break
            worked_on += 1
            while erasure.phase != "done" and time.monotonic() < deadline:
                erasure = self._erasures.step(erasure)
                steps += 1
            if erasure.phase == "done":
                finished += 1
                self._events.publish(user_data_erased(erasure.to_api(), erasure.tenant_id, erasure.requested_by))
                logger().info("erasure done", extra={"erasure_id": erasure.id, "sessions": erasure.sessions,
                                                     "messages": erasure.messages, "tickets": erasure.tickets})
        return ErasureRun(worked_on=worked_on, steps=steps, finished=finished)


def _require_admin(caller: Identity) -> None:
    if not caller.is_admin:
        raise Forbidden("Erasing a user's data is for administrators; ask for the admin role.")
