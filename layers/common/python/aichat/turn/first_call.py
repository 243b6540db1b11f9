"""A turn's first reservation, made before its model is called, one of three ways: from the session's messages as
this container kept them (aichat/turn/context_cache.py: one round trip, no read), while its history is read
(aichat/turn/overlap.py: one round trip beside a Query), or after the read (a new session, or the overlap off). A
session a person has reserves nothing: its turn keeps the message for them (aichat/turn/loop.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from aichat.core.budgets import BudgetRefused, Limits, chat_charges, new_session_charge
from aichat.core.clock import iso
from aichat.core.errors import SessionNotActive, SessionNotFound
from aichat.core.identity import Identity
from aichat.core.ids import new_id
from aichat.core.logs import logger
from aichat.core.models import ChatRequest
from aichat.core.records import MessageRecord
from aichat.table.ledger.reservations import ContextChanged, KeyClaim, Reservation, session_stub
from aichat.turn.context_cache import KeptContext
from aichat.turn.dependencies import TurnDeps
from aichat.turn.estimates import worst_case
from aichat.turn.model_context import PreparedTurn, prepare
from aichat.turn.overlap import ReserveOverlap
from aichat.turn.settlement import TurnSettlement, log_ids


@dataclass(frozen=True)
class FirstReservation:
    """A turn ready for its model: its context, its first call's reservation, its user's message and its reply's id."""

    turn: PreparedTurn
    reservation: Reservation
    user_message: MessageRecord
    reply_id: str


class FirstCall:
    """How a turn reserves its first model call."""

    def __init__(self, deps: TurnDeps, settlement: TurnSettlement) -> None:
        self._deps = deps
        self._settlement = settlement
        self._prices = deps.models.prices
        self._overlap = ReserveOverlap.of(deps)

    def reserve(self, caller: Identity, body: ChatRequest, session_id: str | None, now: datetime, day: str,
                limits: Limits, sweep: int, claim: KeyClaim | None) -> FirstReservation | PreparedTurn:
        """The turn's first call reserved, the cheapest way its session allows, or the turn unreserved when a person
        has its session; a refusal raised as the client sees it, nothing written."""
        kept = self._settlement.contexts.take(session_id, caller) if session_id is not None else None
        if kept is not None:
            reserved = self._reserve_kept(caller, body, kept, now, day, limits, sweep, claim)
            if reserved is not None:
                return reserved
        reservation = None
        if session_id is not None and self._overlap.enabled:
            turn, reservation, user_message, reply_id = self._reserve_while_reading(
                caller, body, session_id, now, day, limits, sweep, claim)
        else:
            turn = prepare(self._deps, caller, body, session_id, iso(now))
        if reservation is None:
            if turn.session.status == "escalated":
                return turn
            self._deps.models.providers.get(turn.routes[0].provider)  # no key: 503 before anything is reserved
            user_message, reply_id = self._new_ids(body, now)
            reservation = self._reserve(caller, turn, day, limits, user_message, reply_id, sweep, claim,
                                        worst_case(self._prices, turn, turn.request))
        return FirstReservation(turn, reservation, user_message, reply_id)

    def _new_ids(self, body: ChatRequest, now: datetime) -> tuple[MessageRecord, str]:
        """The user's message, and its reply's id, made now, so the reply sorts right after the message it answers,
        before anything written while it is written (a person joining, a message sent meanwhile), and a stream can
        name it from its first part."""
        user_message = MessageRecord(id=new_id(now), role="user", content=body.message, created_at=iso(now))
        return user_message, new_id(now)

    def _reserve(self, caller: Identity, turn: PreparedTurn, day: str, limits: Limits, user_message: MessageRecord,
                 reply_id: str, sweep: int, claim: KeyClaim | None, amount: int) -> Reservation:
        """Reserve the turn's first call at `amount` and write the user's message; a refusal raised as the client
        sees it."""
        try:
            return self._deps.ledger.reserve(
                turn.session, turn.is_new, day, chat_charges(limits, amount), user_message, sweep,
                session_charge=new_session_charge(limits) if turn.is_new else None, claim=claim, reply_id=reply_id)
        except BudgetRefused as refused:
            raise self._settlement.refused(refused, tenant_id=caller.tenant_id,
                                           session_id=None if turn.is_new else turn.session.id) from None

    def _reserve_kept(self, caller: Identity, body: ChatRequest, kept: KeptContext, now: datetime, day: str,
                      limits: Limits, sweep: int, claim: KeyClaim | None,
                      ) -> FirstReservation | None:
        """Reserve the turn's first call at its exact worst case from the session's messages as this container kept
        them, on condition that they are still at the version kept: one round trip, no read.

        None when the reserve was refused for anything (the messages changed, a limit, the session is no longer the
        caller's or active): nothing was written, and the turn reads the session and goes on as without the copy.
        """
        turn = prepare(self._deps, caller, body, kept.session.id, iso(now), kept=kept)
        self._deps.models.providers.get(turn.routes[0].provider)  # no key: 503 before anything is reserved
        user_message, reply_id = self._new_ids(body, now)
        try:
            reservation = self._deps.ledger.reserve(
                turn.session, False, day, chat_charges(limits, worst_case(self._prices, turn, turn.request)),
                user_message, sweep, claim=claim, reply_id=reply_id, context_version=kept.version)
        except (ContextChanged, SessionNotFound, SessionNotActive):
            self._settlement.contexts.tried(refused=True)  # out of date: its messages, status or owner changed
            return None
        except BudgetRefused:
            return None  # not the copy's doing: the read decides, as without one
        self._settlement.contexts.tried(refused=False)
        return FirstReservation(turn, reservation, user_message, reply_id)

    def _reserve_while_reading(self, caller: Identity, body: ChatRequest, session_id: str, now: datetime, day: str,
                               limits: Limits, sweep: int, claim: KeyClaim | None,
                               ) -> tuple[PreparedTurn, Reservation | None, MessageRecord, str]:
        """Read the session's history and reserve its first call at once, at the overlap's amount (docs/budgets.md),
        topped up to the exact worst case when that is more: one round trip before the model, two when topped up.

        The reservation is None when the optimistic reserve was refused (a limit, or a session not active for the
        model: escalated, closed, not the caller's): nothing was written, and the caller decides from the history
        read, exactly as without the overlap.
        """
        user_message, reply_id = self._new_ids(body, now)
        reading = self._overlap.read(lambda: prepare(self._deps, caller, body, session_id, iso(now),
                                                     skip=user_message.id))
        try:
            reservation: Reservation | None = self._deps.ledger.reserve(
                session_stub(session_id, caller.tenant_id, caller.user_id), False, day,
                chat_charges(limits, self._overlap.amount), user_message, sweep, claim=claim, reply_id=reply_id)
        except (BudgetRefused, SessionNotFound, SessionNotActive):
            reservation = None
        except BaseException:
            reading.cancel()
            raise
        try:
            turn = reading.result()
            if reservation is None:
                return turn, None, user_message, reply_id
            self._deps.models.providers.get(turn.routes[0].provider)  # no key: 503, the reservation undone
            exact = worst_case(self._prices, turn, turn.request)
            if exact > reservation.amount_micros:
                reservation = self._deps.ledger.top_up(reservation, turn.session, chat_charges(limits, exact))
        except BaseException as e:
            if reservation is not None:
                self._undo(reservation)
            if isinstance(e, BudgetRefused):
                raise self._settlement.refused(e, tenant_id=caller.tenant_id, session_id=session_id) from None
            raise
        return turn, reservation, user_message, reply_id

    def _undo(self, reservation: Reservation) -> None:
        """Cancel a reservation no call used; left to the sweeper (released, the message kept failed) if that fails."""
        try:
            self._deps.ledger.cancel(reservation)
        except Exception:
            logger().exception("an unused reservation could not be undone; the sweeper will release it",
                               extra=log_ids(reservation))
