"""What a chat turn works with, grouped: its models, the people's side of a session, and the rest (store, ledger)."""

from __future__ import annotations

from dataclasses import dataclass

from aichat.clock import Clock
from aichat.events import DomainEvents
from aichat.ledger import TurnLedger
from aichat.metrics import ChatMetrics
from aichat.pricing import PriceTable
from aichat.prompts import Prompts
from aichat.providers.failover import Failover
from aichat.providers.registry import Providers
from aichat.sessions import SessionService
from aichat.settings import Settings
from aichat.stops import StopFlags
from aichat.store import Store
from aichat.tenants import TenantLimitsCache
from aichat.tickets import TicketStore
from aichat.tools import ToolRegistry


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
    limits: TenantLimitsCache
    clock: Clock
    metrics: ChatMetrics
    tools: ToolRegistry
    models: ModelAccess
    people: PersonSide
