"""The money, identity and pricing rules as pure functions: exact values at every boundary.

These are the tests `make mutation` runs against mutants of aichat/core/budgets.py, pricing.py, identity.py and the
ledger's pure functions (fit_reply, sweep_after); each states one rule and asserts exact values, no I/O.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from aichat.core import provider_catalog as catalog
from aichat.core.budgets import BudgetRefused, Charge, Counter, Limits, chat_charges, new_session_charge, refusal
from aichat.core.errors import (
    ConfigurationError,
    DailyCostLimitExceeded,
    DailySessionLimitExceeded,
    LimitExceeded,
    SessionCostLimitExceeded,
    SessionMessageLimitExceeded,
    TenantMissing,
    Unauthorized,
    UserDailyCostLimitExceeded,
)
from aichat.core.identity import MAX_CLAIM_BYTES, Identity, identity_from_event, parse_roles
from aichat.core.pricing import PriceTable, Usage, cents_to_micros, micros_to_cents, price_problem
from aichat.core.provider_catalog import Price
from aichat.core.settings import Settings
from aichat.table.ledger.reservations import (
    DEFAULT_TURN_SECONDS,
    MAX_RECORDED_TOKENS,
    MAX_REPLY_BYTES,
    SWEEP_GRACE_SECONDS,
    FittedReply,
    fit_reply,
    sweep_after,
)

# Every rate different, none of them 1, so that a rate applied to the wrong count, or divided by, shows.
ODD = {"input": Decimal("2"), "output": Decimal("10"), "cache_read": Decimal("0.1"), "cache_write": Decimal("100")}
LIMITS = Limits(tenant_daily_micros=100, user_daily_micros=200, session_micros=300, messages_per_session=10,
                sessions_per_user_per_day=5)
DIGITS = "".join(str(i % 10) for i in range(1000))  # a reply whose every cut shows where it was made


# --- pricing -------------------------------------------------------------------------------------------------------


def test_a_call_costs_each_token_count_at_its_own_rate_rounded_up_to_the_next_micro_dollar() -> None:
    prices = PriceTable({"odd": ODD})
    # 3 x 2 + 5 x 10 + 7 x 0.1 + 11 x 100 = 1156.7 micro-USD
    usage = Usage(input_tokens=3, output_tokens=5, cache_read_tokens=7, cache_write_tokens=11)
    assert prices.cost_micros("odd", usage) == 1157


def test_a_cost_in_whole_micro_dollars_is_not_rounded() -> None:
    assert PriceTable({"odd": ODD}).cost_micros("odd", Usage(input_tokens=3, output_tokens=5)) == 56


def test_cache_tokens_of_a_model_without_cache_rates_cost_the_input_rate() -> None:
    # offline-1: $1 in, $2 out per million tokens, no cache rates
    usage = Usage(input_tokens=0, output_tokens=0, cache_read_tokens=5, cache_write_tokens=7)
    assert PriceTable().cost_micros("offline-1", usage) == 12


def test_the_worst_case_prices_every_input_token_at_the_dearest_input_rate() -> None:
    prices = PriceTable({"odd": ODD, "reads-dear": {"input": Decimal("1"), "output": Decimal("2"),
                                                     "cache_read": Decimal("5")}})
    assert prices.worst_case_micros("odd", 1000, 100) == 1000 * 100 + 100 * 10  # cache writes are dearest
    assert prices.worst_case_micros("reads-dear", 1000, 100) == 1000 * 5 + 100 * 2
    assert prices.worst_case_micros("offline-1", 1000, 100) == 1000 * 1 + 100 * 2  # input is the only rate
    assert prices.worst_case_micros("gpt-4o-mini", 1000, 100) == 150 + 60  # its cached rate is cheaper


def test_the_worst_case_is_rounded_up_to_the_next_micro_dollar() -> None:
    # claude-sonnet-4-5: 3 tokens x $3.75 (cache write) + 1 x $15 = 26.25 micro-USD
    assert PriceTable().worst_case_micros("claude-sonnet-4-5", 3, 1) == 27


def test_micro_dollars_show_as_cents_with_decimals() -> None:
    assert micros_to_cents(12_345) == 1.2345
    assert micros_to_cents(0) == 0.0


def test_a_limit_in_cents_is_rounded_down_to_whole_micro_dollars() -> None:
    assert cents_to_micros(Decimal("1.23456789")) == 12_345
    assert cents_to_micros(Decimal("0.00009")) == 0
    assert cents_to_micros(Decimal(100)) == 1_000_000


@pytest.mark.parametrize("price", [
    {"input": 1, "output": 2},
    {"input": 1, "output": 2, "cache_read": 0.5, "cache_write": 3},
    {"input": 0, "output": 0},
    {"input": "0.5", "output": "0.25"},
])
def test_a_price_of_input_and_output_and_optional_cache_rates_at_zero_or_more_is_accepted(
        price: dict[str, Any]) -> None:
    assert price_problem("m", price) is None


@pytest.mark.parametrize("price", [
    {"input": 1}, {"output": 2}, {}, {"input": 1, "output": 2, "cache": 1}, {"input": 1, "cache_read": 1},
])
def test_a_price_needs_input_and_output_and_takes_no_other_rate(price: dict[str, Any]) -> None:
    assert price_problem("m", price) == ('PRICES["m"] takes input and output, and optionally cache_read and '
                                         "cache_write (USD per million tokens)")


@pytest.mark.parametrize(("value", "shown"), [
    (-1, "-1"), ("-0.01", "-0.01"), ("NaN", "NaN"), ("Infinity", "Infinity"), ("cheap", "cheap"), (None, "None"),
])
def test_a_rate_must_be_a_finite_number_at_least_zero(value: Any, shown: str) -> None:
    assert price_problem("m", {"input": 1, "output": value}) == (
        f'PRICES["m"].output must be a finite number >= 0 (USD per million tokens), not {shown}')


def test_a_price_problem_names_the_model_as_json() -> None:
    assert price_problem('my "model"', {"input": -1, "output": 1}) == (
        'PRICES["my \\"model\\""].input must be a finite number >= 0 (USD per million tokens), not -1')


def test_a_bad_price_override_is_a_configuration_error_naming_the_model() -> None:
    with pytest.raises(ConfigurationError) as refused:
        PriceTable({"m": {"input": Decimal(1)}})
    assert str(refused.value) == ('PRICES["m"] takes input and output, and optionally cache_read and cache_write '
                                  "(USD per million tokens)")


def test_a_price_override_replaces_a_built_in_price_and_leaves_the_others() -> None:
    prices = PriceTable({"gpt-4o": {"input": Decimal("9"), "output": Decimal("99")}})
    assert prices.price("gpt-4o") == Price(Decimal("9"), Decimal("99"))
    assert prices.price("gpt-4o-mini") == Price(Decimal("0.15"), Decimal("0.60"), cache_read=Decimal("0.075"))


def test_a_model_without_a_price_is_a_configuration_error_showing_the_entry_that_adds_it() -> None:
    with pytest.raises(ConfigurationError) as refused:
        PriceTable().price("mystery")
    assert str(refused.value) == ("model 'mystery' has no price; add it to PRICES, e.g. "
                                  '{"mystery": {"input": 1.0, "output": 2.0}} (USD per million tokens)')


def test_openai_bills_cache_writes_as_input_and_anthropic_has_a_rate_for_each() -> None:
    assert catalog._openai("5.00", "30.00", "0.50") == Price(Decimal("5.00"), Decimal("30.00"),
                                                             cache_read=Decimal("0.50"), cache_write=None)
    assert catalog._anthropic("3.00", "15.00", "0.30", "3.75") == Price(
        Decimal("3.00"), Decimal("15.00"), cache_read=Decimal("0.30"), cache_write=Decimal("3.75"))


# --- budgets -------------------------------------------------------------------------------------------------------


def test_limits_come_from_the_settings_in_micro_dollars_rounded_down() -> None:
    settings = Settings(DAILY_COST_LIMIT_CENTS=Decimal("123.45"), USER_DAILY_COST_LIMIT_CENTS=Decimal("6.78901"),
                        SESSION_COST_LIMIT_CENTS=Decimal("1.5"), MAX_MESSAGES_PER_SESSION=7,
                        MAX_SESSIONS_PER_USER_PER_DAY=3)
    assert Limits.from_settings(settings) == Limits(tenant_daily_micros=1_234_500, user_daily_micros=67_890,
                                                    session_micros=15_000, messages_per_session=7,
                                                    sessions_per_user_per_day=3)


def test_without_a_user_limit_setting_a_user_has_no_daily_limit_of_their_own() -> None:
    assert Limits.from_settings(Settings()) == Limits(tenant_daily_micros=100_000_000, user_daily_micros=None,
                                                      session_micros=1_000_000, messages_per_session=100,
                                                      sessions_per_user_per_day=50)


def test_an_empty_tenant_config_keeps_every_limit() -> None:
    assert LIMITS.with_tenant_config({}) == LIMITS


def test_a_tenant_config_overrides_exactly_the_limits_it_names() -> None:
    changed = LIMITS.with_tenant_config({"daily_cost_limit_cents": Decimal("2.5"), "max_messages_per_session": 4})
    assert changed == Limits(tenant_daily_micros=25_000, user_daily_micros=200, session_micros=300,
                             messages_per_session=4, sessions_per_user_per_day=5)


def test_a_tenant_config_sets_money_in_micro_dollars_and_counts_as_whole_numbers_rounded_down() -> None:
    config = {"daily_cost_limit_cents": 1, "user_daily_cost_limit_cents": Decimal("0.00019"),
              "session_cost_limit_cents": "3", "max_messages_per_session": Decimal("4.9"),
              "max_sessions_per_user_per_day": "5"}
    assert LIMITS.with_tenant_config(config) == Limits(tenant_daily_micros=10_000, user_daily_micros=1,
                                                       session_micros=30_000, messages_per_session=4,
                                                       sessions_per_user_per_day=5)


def test_a_tenant_config_limit_of_zero_or_a_fraction_of_a_cent_is_taken() -> None:
    assert LIMITS.with_tenant_config({"daily_cost_limit_cents": 0}).tenant_daily_micros == 0
    assert LIMITS.with_tenant_config({"session_cost_limit_cents": "0.5"}).session_micros == 5_000


def test_a_tenant_config_limit_that_is_no_number_is_refused_naming_the_field() -> None:
    with pytest.raises(ValueError) as refused:
        LIMITS.with_tenant_config({"daily_cost_limit_cents": "lots"})
    assert str(refused.value) == "tenant config field daily_cost_limit_cents must be a number, not 'lots'"


def test_a_negative_tenant_config_limit_is_refused_naming_the_field() -> None:
    with pytest.raises(ValueError) as refused:
        LIMITS.with_tenant_config({"session_cost_limit_cents": Decimal("-0.01")})
    assert str(refused.value) == "tenant config field session_cost_limit_cents must not be negative"


def test_a_chat_reserves_its_worst_case_on_every_cost_counter_and_two_messages_on_the_session() -> None:
    assert chat_charges(LIMITS, 42) == [
        Charge(Counter.TENANT_DAY_COST, 42, 100),
        Charge(Counter.USER_DAY_COST, 42, 200),
        Charge(Counter.SESSION_COST, 42, 300),
        Charge(Counter.SESSION_MESSAGES, 2, 10),
    ]


def test_a_new_session_reserves_one_of_the_users_sessions_for_today() -> None:
    assert new_session_charge(LIMITS) == Charge(Counter.USER_DAY_SESSIONS, 1, 5)


def test_a_charge_that_exactly_fits_its_limit_is_taken_and_one_micro_dollar_more_is_not() -> None:
    charge = Charge(Counter.TENANT_DAY_COST, 30, 100)
    assert charge.max_before == 70  # a counter at 70 takes it (to exactly 100), one at 71 does not
    assert Charge(Counter.SESSION_COST, 300, 300).max_before == 0  # the whole limit fits an empty counter
    assert Charge(Counter.SESSION_COST, 301, 300).max_before == -1  # no counter can take it
    assert Charge(Counter.USER_DAY_COST, 30, None).max_before is None  # no limit


def test_a_refused_charge_carries_the_charge_and_what_the_counter_held() -> None:
    charge = Charge(Counter.TENANT_DAY_COST, 30, 100)
    refused = BudgetRefused(charge, 71)
    assert (str(refused), refused.charge, refused.used) == ("tenant_day_cost", charge, 71)


@pytest.mark.parametrize(("counter", "error", "detail", "limit", "used"), [
    (Counter.TENANT_DAY_COST, DailyCostLimitExceeded,
     "Daily cost limit reached for your organisation. Try again after midnight UTC, or ask an administrator to "
     "raise the limit.", 100.0, 99.9801),
    (Counter.USER_DAY_COST, UserDailyCostLimitExceeded,
     "Your daily cost limit is reached. Try again after midnight UTC.", 100.0, 99.9801),
    (Counter.SESSION_COST, SessionCostLimitExceeded,
     "This session has reached its cost limit. Start a new session to continue.", 100.0, 99.9801),
    (Counter.SESSION_MESSAGES, SessionMessageLimitExceeded,
     "This session has reached its message limit. Start a new session to continue.", 1_000_000, 999_801),
    (Counter.USER_DAY_SESSIONS, DailySessionLimitExceeded,
     "You have started the most sessions allowed today. Continue an existing session, or try again after "
     "midnight UTC.", 1_000_000, 999_801),
])
def test_a_refusal_names_its_limit_with_money_in_cents_and_counts_as_counted(
        counter: Counter, error: type[LimitExceeded], detail: str, limit: float, used: float) -> None:
    refused = refusal(Charge(counter, 500, 1_000_000), 999_801)
    assert type(refused) is error
    assert refused.body() == {"detail": detail, "code": error.code, "limit": limit, "used": used}


def test_a_refusal_of_a_counter_without_a_limit_shows_a_limit_of_zero() -> None:
    assert refusal(Charge(Counter.USER_DAY_COST, 5, None), 7).extra == {"limit": 0.0, "used": 0.0007}


# --- identity ------------------------------------------------------------------------------------------------------


def event(claims: dict[str, Any]) -> dict[str, Any]:
    return {"requestContext": {"authorizer": {"jwt": {"claims": claims}}}}


CUSTOM = Settings(TENANT_CLAIM="custom:tenant", ROLES_CLAIM="cognito:groups")


@pytest.mark.parametrize(("raw", "roles"), [
    ("admin", {"admin"}),
    ("read-only,admin", {"read-only,admin"}),
    ("[admin support]", {"admin", "support"}),
    ("[ab cd]", {"ab", "cd"}),
    ("[  admin\tsupport ]", {"admin", "support"}),
    ("[a]", {"a"}),
    ("[]", set()),
    ("[admin", {"[admin"}),
    ("admin]", {"admin]"}),
    ("", set()),
    (None, set()),
    (5, set()),
    ({"admin": True}, set()),
    (["admin", "", 3, None, "ops"], {"admin", "ops"}),
    (("admin",), {"admin"}),
    ([], set()),
])
def test_roles_are_a_real_list_of_strings_a_bracketed_list_split_on_whitespace_or_one_role(
        raw: Any, roles: set[str]) -> None:
    assert parse_roles(raw) == roles


def test_the_caller_is_read_from_the_claims_under_their_configured_names() -> None:
    claims = {"sub": "u1", "custom:tenant": "acme", "cognito:groups": "[admin support]", "tenant_id": "other"}
    assert identity_from_event(event(claims), CUSTOM) == Identity(user_id="u1", tenant_id="acme",
                                                                 roles=frozenset({"admin", "support"}), is_staff=True)


def test_a_numeric_subject_and_tenant_are_read_as_text() -> None:
    assert identity_from_event(event({"sub": 42, "tenant_id": 7}), Settings()) == Identity(
        user_id="42", tenant_id="7", roles=frozenset())


@pytest.mark.parametrize("request_event", [
    {}, {"requestContext": None}, {"requestContext": {"authorizer": None}},
    {"requestContext": {"authorizer": {"jwt": None}}}, event({}), event({"sub": "", "custom:tenant": "acme"}),
    event({"sub": None, "custom:tenant": "acme"}), event({"custom:tenant": "acme"}),
])
def test_a_request_without_a_subject_is_401_asking_to_sign_in_again(request_event: dict[str, Any]) -> None:
    with pytest.raises(Unauthorized) as refused:
        identity_from_event(request_event, CUSTOM)
    assert refused.value.detail == "The token has no subject (sub) claim; sign in again."


@pytest.mark.parametrize("claims", [{"sub": "u1"}, {"sub": "u1", "custom:tenant": ""},
                                    {"sub": "u1", "tenant_id": "acme"}])
def test_a_token_without_the_tenant_claim_is_400_naming_the_claim_and_its_setting(claims: dict[str, Any]) -> None:
    with pytest.raises(TenantMissing) as refused:
        identity_from_event(event(claims), CUSTOM)
    assert refused.value.detail == ("The token has no custom:tenant claim; ask your identity provider to add the "
                                    "tenant claim (its name is set by TENANT_CLAIM).")


@pytest.mark.parametrize(("claims", "named"), [
    ({"sub": "u#1", "custom:tenant": "acme"}, "sub"),
    ({"sub": "u1", "custom:tenant": "ac#me"}, "custom:tenant"),
])
def test_a_subject_or_tenant_with_a_key_separator_is_401_naming_the_claim(claims: dict[str, Any], named: str) -> None:
    with pytest.raises(Unauthorized) as refused:
        identity_from_event(event(claims), CUSTOM)
    assert refused.value.detail == f"The token's {named} claim must not contain '#'."


@pytest.mark.parametrize(("claims", "named"), [
    ({"sub": "u\ud800", "custom:tenant": "acme"}, "sub"),
    ({"sub": "u1", "custom:tenant": "\udfffacme"}, "custom:tenant"),
])
def test_a_subject_or_tenant_with_a_lone_surrogate_is_401_naming_the_claim(claims: dict[str, Any],
                                                                           named: str) -> None:
    with pytest.raises(Unauthorized) as refused:
        identity_from_event(event(claims), CUSTOM)
    assert refused.value.detail == (f"The token's {named} claim is not valid Unicode text (it holds a lone "
                                    "surrogate).")


def test_a_subject_or_tenant_of_up_to_256_utf8_bytes_is_taken() -> None:
    assert MAX_CLAIM_BYTES == 256
    longest = "é" * 128  # 128 characters, 256 bytes
    who = identity_from_event(event({"sub": longest, "custom:tenant": "t" * 256}), CUSTOM)
    assert (who.user_id, who.tenant_id) == (longest, "t" * 256)


@pytest.mark.parametrize(("claims", "named"), [
    ({"sub": "é" * 128 + "a", "custom:tenant": "acme"}, "sub"),  # 129 characters, 257 bytes
    ({"sub": "u1", "custom:tenant": "t" * 257}, "custom:tenant"),
])
def test_a_subject_or_tenant_of_257_utf8_bytes_is_401_naming_the_claim_and_the_limit(claims: dict[str, Any],
                                                                                     named: str) -> None:
    with pytest.raises(Unauthorized) as refused:
        identity_from_event(event(claims), CUSTOM)
    assert refused.value.detail == (f"The token's {named} claim is longer than 256 bytes (UTF-8); this API takes a "
                                    f"{named} of at most 256 bytes, so ask your identity provider for a shorter one.")


# --- the ledger's arithmetic ---------------------------------------------------------------------------------------


def test_a_turn_may_be_swept_a_grace_minute_after_its_invocations_own_deadline() -> None:
    assert SWEEP_GRACE_SECONDS == 60
    assert sweep_after(1000.0, 30.0) == 1090
    assert sweep_after(1000.2, 30.3) == 1091  # the deadline is rounded up to a whole second


def test_a_turn_whose_invocation_has_no_time_left_may_be_swept_a_grace_minute_from_now() -> None:
    assert sweep_after(1000.0, 0.0) == 1060
    assert sweep_after(1000.0, -5.0) == 1060


def test_a_turn_whose_remaining_time_is_unknown_waits_lambdas_longest_timeout() -> None:
    assert DEFAULT_TURN_SECONDS == 900
    assert sweep_after(1000.0, None) == 1000 + 900 + 60


def test_a_reply_within_max_tokens_is_kept_as_it_came() -> None:
    usage = Usage(input_tokens=3, output_tokens=5)
    assert fit_reply("Hello, world.", usage, max_tokens=5) == FittedReply("Hello, world.", usage, truncated=False)
    assert fit_reply("", Usage(3, 50), max_tokens=5) == FittedReply("", Usage(3, 50), truncated=False)


def test_a_reply_reported_as_no_output_tokens_is_kept_as_it_came() -> None:
    assert fit_reply("Hello", Usage(1, 0), max_tokens=5) == FittedReply("Hello", Usage(1, 0), truncated=False)


def test_usage_is_recorded_as_reported_each_count_clamped_to_zero_and_to_ten_to_the_twelve() -> None:
    assert MAX_RECORDED_TOKENS == 10**12
    fitted = fit_reply("hi", Usage(input_tokens=-5, output_tokens=10**13, cache_read_tokens=0,
                                   cache_write_tokens=10**12), max_tokens=500)
    assert fitted == FittedReply("hi", Usage(0, 10**12, 0, 10**12), truncated=False)


def test_a_reply_past_max_tokens_is_cut_to_its_share_of_the_reported_output_rounded_down() -> None:
    # 10 of 30 reported tokens: a third of 1,000 characters is 333.3
    assert fit_reply(DIGITS, Usage(1, 30), max_tokens=10) == FittedReply(DIGITS[:333], Usage(1, 30), truncated=True)


def test_an_inflated_output_count_never_cuts_a_reply_below_four_characters_a_token() -> None:
    # 10 of a million tokens would keep 0.01 characters; ten tokens of plain text hold at least 40
    fitted = fit_reply(DIGITS, Usage(1, 10**6), max_tokens=10)
    assert fitted == FittedReply(DIGITS[:40], Usage(1, 10**6), truncated=True)


def test_a_reply_no_longer_than_that_floor_is_kept_whole_and_not_flagged() -> None:
    assert fit_reply(DIGITS[:40], Usage(1, 10**6), max_tokens=10) == FittedReply(DIGITS[:40], Usage(1, 10**6),
                                                                                 truncated=False)


def test_a_reply_of_exactly_what_an_item_holds_is_kept_whole() -> None:
    assert MAX_REPLY_BYTES == 380_000
    text = "a" * MAX_REPLY_BYTES
    assert fit_reply(text, Usage(1, 1), max_tokens=10) == FittedReply(text, Usage(1, 1), truncated=False)


def test_a_reply_one_byte_past_what_an_item_holds_is_cut_to_it() -> None:
    text = "a" * MAX_REPLY_BYTES + "b"
    assert fit_reply(text, Usage(1, 1), max_tokens=10) == FittedReply(text[:-1], Usage(1, 1), truncated=True)


def test_a_reply_cut_to_what_an_item_holds_drops_a_character_the_cut_splits() -> None:
    text = "a" + "é" * (MAX_REPLY_BYTES // 2)  # 380,001 bytes: the cut falls inside the last é
    fitted = fit_reply(text, Usage(1, 1), max_tokens=10)
    assert fitted == FittedReply("a" + "é" * (MAX_REPLY_BYTES // 2 - 1), Usage(1, 1), truncated=True)


def test_a_lone_surrogate_in_a_reply_is_replaced_by_one_character_and_the_rest_kept() -> None:
    fitted = fit_reply("broken \ud800 text", Usage(1, 1), max_tokens=10)
    assert (fitted.text[:7], fitted.text[8:], fitted.truncated) == ("broken ", " text", False)
    assert len(fitted.text) == 13 and not 0xD800 <= ord(fitted.text[7]) <= 0xDFFF
