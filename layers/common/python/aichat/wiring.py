"""Builds the layer's objects from settings, once per container; tests pass their own clients and clock."""

from __future__ import annotations

import random
from dataclasses import replace
from functools import cache, cached_property
from typing import TYPE_CHECKING, get_args

from aichat.core.aws import aws_client
from aichat.core.clock import Clock, utc_now
from aichat.core.pricing import PriceTable
from aichat.core.settings import Settings, load_settings
from aichat.notify.domain_events import DomainEvents
from aichat.notify.staff_alerts import EscalationNotifier
from aichat.providers.credentials import ApiKeys
from aichat.providers.interface import Provider
from aichat.providers.registry import Providers
from aichat.services.session_routes import SessionService
from aichat.table.escalations import Handoffs
from aichat.table.ledger.reservations import SweepReport
from aichat.table.ledger.turn_ledger import TurnLedger
from aichat.table.ratings import MessageRatings
from aichat.table.sessions import Store
from aichat.table.stop_flags import StopFlags
from aichat.table.tenants import TenantConfigCache, TenantConfigs
from aichat.table.usage import UsageRecords

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_sns import SNSClient

    from aichat.core.tenant_config import DeploymentDefaults
    from aichat.services.erasure import ErasureService
    from aichat.services.monitoring import UsageService
    from aichat.services.my_data import MyDataService
    from aichat.services.staff_routes import HandoffService
    from aichat.services.tenant_admin import TenantAdminService
    from aichat.table.deletions import SessionDeletions
    from aichat.turn.chat_service import ChatService


class Services:
    """The layer's services for one container; the chat service (and its imports) only where it is used."""

    def __init__(self, settings: Settings, store: Store, ledger: TurnLedger, usage_records: UsageRecords,
                 providers: Providers, prices: PriceTable, limits: TenantConfigCache, sessions: SessionService,
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
        from aichat.core.metrics import ChatMetrics
        from aichat.providers.failover import Failover, RetryPolicy
        from aichat.table.tickets import TicketStore
        from aichat.tools.registry import ToolRegistry
        from aichat.turn.chat_service import ChatService
        from aichat.turn.dependencies import ModelAccess, PersonSide, TurnDeps
        from aichat.turn.prompts import Prompts

        tickets = TicketStore(self._db(), self.settings.TABLE_NAME, retention_days=self.settings.RETENTION_DAYS,
                              clock=self._clock, events=self._events, tenant_retention=self._limits.retention_days)
        policy = RetryPolicy.from_settings(self.settings)
        models = ModelAccess(self._providers, self._prices, Prompts(self.settings.SYSTEM_PROMPTS),
                             Failover(self._providers.get, policy),
                             Failover(self._providers.get, replace(policy,
                                                                   deadline=self.settings.STREAM_DEADLINE_SECONDS)))
        people = PersonSide(self.sessions, self.sessions.stops, tickets, self._events)
        return ChatService(TurnDeps(self.settings, self.store, self.ledger, self._limits, self._clock, ChatMetrics(),
                                    ToolRegistry(self.settings), models, people))

    def _db(self) -> DynamoDBClient:
        return self._dynamodb or dynamodb_client(self.settings)

    def preload_providers(self) -> list[str]:
        """Import the configured providers' SDKs now, so a SnapStart snapshot holds them; returns the modules."""
        return self._providers.preload()

    def after_restore(self) -> None:
        """Make fresh what a SnapStart snapshot would share between restored copies: randomness, SDK clients."""
        random.seed()  # every copy restored from one snapshot would otherwise draw the same retry jitter
        self._providers.reset()

    def sweep_turns(self) -> SweepReport:
        """Release the turns still pending past their sweep time, and finish the deletes cut short."""
        now = self._clock().timestamp()
        report = self.ledger.sweep(now)
        finished = self._deletions.sweep(now)
        return replace(report, deletions_finished=finished)

    @cached_property
    def _deletions(self) -> SessionDeletions:
        from aichat.table.deletions import SessionDeletions

        return SessionDeletions(self._db(), self.settings.TABLE_NAME)

    @cached_property
    def erasure(self) -> ErasureService:
        """The admin's erasure of a user's data, and its scheduled runner."""
        from aichat.services.erasure import ErasureService
        from aichat.table.erasures import Erasures

        erasures = Erasures(self._db(), self.settings.TABLE_NAME, self._deletions, self.settings.RETENTION_DAYS,
                            self._clock, self.settings.ERASURE_SESSIONS_PER_STEP)
        return ErasureService(erasures, self._events)

    @cached_property
    def my_data(self) -> MyDataService:
        """The routes of a person's own data: delete a session, export everything."""
        from aichat.services.my_data import MyDataService
        from aichat.table.exports import Exports

        return MyDataService(self._deletions, Exports(self._db(), self.settings.TABLE_NAME), self._clock)

    @cached_property
    def handoff(self) -> HandoffService:
        """The staff routes' service: the tenant's waiting list, a person's replies, the release."""
        from aichat.services.staff_routes import HandoffService

        return HandoffService(self.sessions.handoffs, self.store, self._events, self._clock)

    @cached_property
    def tenant_admin(self) -> TenantAdminService:
        """The admin routes' service: the tenant's configuration, read and changed."""
        from aichat.services.tenant_admin import TenantAdminService

        return TenantAdminService(TenantConfigs(self._db(), self.settings.TABLE_NAME), self._limits,
                                  deployment_defaults(self.settings, self._providers), self._events, self._clock)

    @cached_property
    def usage(self) -> UsageService:
        from aichat.services.monitoring import UsageService

        return UsageService(self.usage_records, self._clock)


def deployment_defaults(settings: Settings, providers: Providers) -> DeploymentDefaults:
    """What a tenant gets without overrides, and what an override may choose from: the configured (so priced)
    routes, the built-in tools and CUSTOM_TOOLS."""
    from aichat.core.budgets import Limits
    from aichat.core.config_bodies import ModelRef, SessionTypeConfig
    from aichat.core.settings import ToolName
    from aichat.core.tenant_config import DeploymentDefaults
    from aichat.turn.prompts import DEFAULT_PROMPTS, Prompts

    prompts = Prompts(settings.SYSTEM_PROMPTS)
    session_types = {}
    for session_type in DEFAULT_PROMPTS:
        provider, model = providers.default(session_type)
        session_types[session_type] = SessionTypeConfig(
            system_prompt=prompts.system_prompt(session_type, None),  # type: ignore[arg-type]
            model=ModelRef(provider=provider, model=model),
            tools=list(settings.TOOLS_BY_SESSION_TYPE.get(session_type, ())))  # type: ignore[call-overload]
    return DeploymentDefaults(
        limits=Limits.from_settings(settings), retention_days=settings.RETENTION_DAYS, session_types=session_types,
        routes=frozenset((route.provider, route.model) for route in providers.configured_routes()),
        tools=(*get_args(ToolName), *(tool.name for tool in settings.CUSTOM_TOOLS)))


def dynamodb_client(settings: Settings) -> DynamoDBClient:
    """The table's client: DYNAMODB_ENDPOINT_URL's, with DynamoDB's own credentials where they are set."""
    return aws_client("dynamodb", settings, settings.DYNAMODB_ENDPOINT_URL,  # type: ignore[no-any-return]
                      credentials=settings.dynamodb_credentials())


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
    db = dynamodb or dynamodb_client(settings)
    store = Store(db, settings.TABLE_NAME)
    limits = TenantConfigCache(settings, TenantConfigs(db, settings.TABLE_NAME))
    ledger = TurnLedger(db, settings.TABLE_NAME, settings.RETENTION_DAYS, clock, tenant_retention=limits.retention_days)
    usage_records = UsageRecords(db, settings.TABLE_NAME, settings.RETENTION_DAYS, clock)
    prices = PriceTable(settings.PRICES)
    registry = Providers(settings, providers, ApiKeys(settings, lambda service: aws_client(service, settings)))
    for route in registry.configured_routes():
        prices.price(route.model)  # a model without a price fails at start, not on the first chat
    notifier = EscalationNotifier(settings.ESCALATION_TOPIC_ARN, lambda: sns or aws_client("sns", settings))
    ratings = MessageRatings(db, settings.TABLE_NAME)
    publisher = domain_events(settings, events)
    handoffs = Handoffs(db, settings.TABLE_NAME, settings.RETENTION_DAYS, clock,
                        tenant_retention=limits.retention_days)
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
