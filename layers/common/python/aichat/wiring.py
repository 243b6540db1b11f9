"""Builds the layer's objects from settings, once per container; tests pass their own clients and clock."""

from __future__ import annotations

import random
import threading
from dataclasses import replace
from functools import cache, cached_property
from typing import TYPE_CHECKING, Any

from aichat.clock import Clock, utc_now
from aichat.events import DomainEvents
from aichat.handoffs import Handoffs
from aichat.ledger import SweepReport, TurnLedger
from aichat.notifications import EscalationNotifier
from aichat.pricing import PriceTable
from aichat.providers import Provider
from aichat.providers.credentials import ApiKeys
from aichat.providers.registry import Providers
from aichat.ratings import MessageRatings
from aichat.sessions import SessionService
from aichat.settings import Settings, load_settings
from aichat.stops import StopFlags
from aichat.store import Store
from aichat.tenants import TenantLimitsCache
from aichat.usage_records import UsageRecords

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_sns import SNSClient

    from aichat.chat import ChatService
    from aichat.handoff import HandoffService
    from aichat.usage import UsageService


class Services:
    """The layer's services for one container; the chat service (and its imports) only where it is used."""

    def __init__(self, settings: Settings, store: Store, ledger: TurnLedger, usage_records: UsageRecords,
                 providers: Providers, prices: PriceTable, limits: TenantLimitsCache, sessions: SessionService,
                 clock: Clock, dynamodb: DynamoDBClient | None = None, *, events: DomainEvents) -> None:
        self.settings = settings
        self.store = store
        self.usage_records = usage_records
        self.ledger = ledger
        self._dynamodb = dynamodb
        self.sessions = sessions
        self._providers = providers
        self._prices = prices
        self._limits = limits
        self._clock = clock
        self._events = events

    @cached_property
    def chat(self) -> ChatService:
        from aichat.chat import ChatService
        from aichat.metrics import ChatMetrics
        from aichat.prompts import Prompts
        from aichat.providers.failover import Failover, RetryPolicy
        from aichat.tickets import TicketStore
        from aichat.tools import ToolRegistry
        from aichat.turn_dependencies import ModelAccess, PersonSide, TurnDeps

        tickets = TicketStore(self._db(), self.settings.TABLE_NAME, retention_days=self.settings.RETENTION_DAYS,
                              clock=self._clock, events=self._events)
        policy = RetryPolicy.from_settings(self.settings)
        models = ModelAccess(self._providers, self._prices, Prompts(self.settings.SYSTEM_PROMPTS),
                             Failover(self._providers.get, policy),
                             Failover(self._providers.get, replace(policy,
                                                                   deadline=self.settings.STREAM_DEADLINE_SECONDS)))
        people = PersonSide(self.sessions, self.sessions.stops, tickets, self._events)
        return ChatService(TurnDeps(self.settings, self.store, self.ledger, self._limits, self._clock, ChatMetrics(),
                                    ToolRegistry(self.settings), models, people))

    def _db(self) -> DynamoDBClient:
        return self._dynamodb or aws_client("dynamodb", self.settings, self.settings.DYNAMODB_ENDPOINT_URL)

    def preload_providers(self) -> list[str]:
        """Import the configured providers' SDKs now, so a SnapStart snapshot holds them; returns the modules."""
        return self._providers.preload()

    def after_restore(self) -> None:
        """Make fresh what a SnapStart snapshot would share between restored copies: randomness, SDK clients."""
        random.seed()  # every copy restored from one snapshot would otherwise draw the same retry jitter
        self._providers.reset()

    def sweep_turns(self) -> SweepReport:
        """Release the turns still pending past their sweep time (the sweeper's one job)."""
        return self.ledger.sweep(self._clock().timestamp())

    @cached_property
    def handoff(self) -> HandoffService:
        """The staff routes' service: the tenant's waiting list, a person's replies, the release."""
        from aichat.handoff import HandoffService

        return HandoffService(self.sessions.handoffs, self.store, self._events, self._clock)

    @cached_property
    def usage(self) -> UsageService:
        from aichat.usage import UsageService

        return UsageService(self.usage_records, self._clock)


def aws_client(service: str, settings: Settings, endpoint_url: str | None = None, *, max_attempts: int = 4,
               connect_timeout: float = 2, read_timeout: float = 5) -> Any:
    """A botocore client: botocore alone imports faster than boto3, and that is every cold start."""
    from botocore.config import Config

    config = Config(retries={"mode": "standard", "max_attempts": max_attempts}, connect_timeout=connect_timeout,
                    read_timeout=read_timeout, max_pool_connections=64)
    with _session_lock:  # a botocore session is not safe to create clients from in several threads at once
        return _botocore_session().create_client(
            service, region_name=settings.AWS_REGION, endpoint_url=endpoint_url, config=config
        )


_session_lock = threading.Lock()


@cache
def _botocore_session() -> Any:
    """One botocore session per process: it loads each service's model and endpoints once for all its clients."""
    import botocore.session

    return botocore.session.get_session()


def domain_events(settings: Settings, client: EventBridgeClient | None = None) -> DomainEvents:
    """The container's publisher on EVENT_BUS_NAME, its client built on the first publish; the log alone where
    EVENTS_ENABLED is false (the local server)."""
    if not settings.EVENTS_ENABLED:
        return DomainEvents(settings.EVENT_BUS_NAME, None)
    # A publish runs inside a request (the escalate route has 10 s, create_ticket 10 s): one retry (botocore's
    # max_attempts counts retries) and shorter timeouts than the table's client, so an EventBridge out of reach
    # delays the request by seconds and never times it out.
    return DomainEvents(settings.EVENT_BUS_NAME, lambda: client or aws_client(
        "events", settings, settings.EVENTS_ENDPOINT_URL, max_attempts=1, connect_timeout=1, read_timeout=2),
        include_message_text=settings.EVENTS_INCLUDE_MESSAGE_TEXT)


def build(settings: Settings, *, dynamodb: DynamoDBClient | None = None, sns: SNSClient | None = None,
          events: EventBridgeClient | None = None, providers: dict[str, Provider] | None = None,
          clock: Clock = utc_now) -> Services:
    """Every service, sharing one store; clients default to real AWS (or DYNAMODB_ENDPOINT_URL, EVENTS_ENDPOINT_URL)."""
    db = dynamodb or aws_client("dynamodb", settings, settings.DYNAMODB_ENDPOINT_URL)
    store = Store(db, settings.TABLE_NAME)
    ledger = TurnLedger(db, settings.TABLE_NAME, settings.RETENTION_DAYS, clock)
    usage_records = UsageRecords(db, settings.TABLE_NAME, settings.RETENTION_DAYS, clock)
    prices = PriceTable(settings.PRICES)
    registry = Providers(settings, providers, ApiKeys(settings, lambda service: aws_client(service, settings)))
    for route in registry.configured_routes():
        prices.price(route.model)  # a model without a price fails at start, not on the first chat
    limits = TenantLimitsCache(settings, store)
    notifier = EscalationNotifier(settings.ESCALATION_TOPIC_ARN, lambda: sns or aws_client("sns", settings))
    ratings = MessageRatings(db, settings.TABLE_NAME)
    publisher = domain_events(settings, events)
    handoffs = Handoffs(db, settings.TABLE_NAME, settings.RETENTION_DAYS, clock)
    sessions = SessionService(store, ratings, ledger, registry, limits, notifier, publisher, clock,
                              StopFlags(db, settings.TABLE_NAME), handoffs)
    return Services(settings, store, ledger, usage_records, registry, prices, limits, sessions, clock, dynamodb=db,
                    events=publisher)


@cache
def services() -> Services:
    """The container's services, built from the environment on first use."""
    return build(load_settings())


def warm_chat(services: Services) -> list[str]:
    """Build the chat service and import its SDKs at init (what SnapStart snapshots); returns the SDK modules."""
    services.chat  # noqa: B018 - built now, so the snapshot holds it
    modules = services.preload_providers()
    refresh_after_restore(services)
    return modules


def refresh_after_restore(services: Services) -> bool:
    """Register services.after_restore with Lambda's SnapStart runtime hooks; False where there are none."""
    try:
        from snapshot_restore_py import register_after_restore  # type: ignore[import-not-found]
    except ImportError:  # only Lambda's python3.12+ runtime ships it
        return False
    register_after_restore(services.after_restore)
    return True
