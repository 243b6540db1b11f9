"""What a chat turn works with, grouped: its models, the people's side of a session, and the rest (store, ledger)."""

from __future__ import annotations

from dataclasses import dataclass

from aichat.core.clock import Clock
from aichat.core.metrics import ChatMetrics
from aichat.core.pricing import PriceTable
from aichat.core.settings import Settings
from aichat.notify.domain_events import DomainEvents
from aichat.providers.failover import Failover
from aichat.providers.registry import Providers
from aichat.services.session_routes import SessionService
from aichat.table.ledger.turn_ledger import TurnLedger
from aichat.table.sessions import Store
from aichat.table.stop_flags import StopFlags
from aichat.table.tenants import TenantConfigCache
from aichat.table.tickets import TicketStore
from aichat.tools.registry import ToolRegistry
from aichat.turn.prompts import Prompts


@dataclass(frozen=True)
class ModelAccess:
    """How a turn reaches a model: the providers, their prices, the system prompts, and the failover for whole
    calls (`failover`) and for streamed ones (`stream_failover`, with the stream's own deadline)."""

    providers: Providers
    prices: PriceTable
    prompts: Prompts
    failover: Failover
    stream_failover: Failover


@dataclass(frozen=True)
class PersonSide:
    """What a turn shares with the people of a session: escalation, the stop and taken flags, tickets (a tool's),
    and the domain events a person's inbox hears."""

    sessions: SessionService
    stops: StopFlags
    tickets: TicketStore
    events: DomainEvents


@dataclass(frozen=True)
class TurnDeps:
    """Everything a chat turn uses."""

    settings: Settings
    store: Store
    ledger: TurnLedger
    limits: TenantConfigCache
    clock: Clock
    metrics: ChatMetrics
    tools: ToolRegistry
    models: ModelAccess
    people: PersonSide
