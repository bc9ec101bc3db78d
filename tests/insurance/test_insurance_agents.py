"""Seed 004's insurance agents: the pure extraction and policy functions, and both agents run end to end on the
offline model (plain and streamed), so their structured output goes through Pydantic AI's validation. No DB."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from importlib.metadata import entry_points
from typing import Any

import pytest
from pydantic import BaseModel
from pydantic_ai import Agent, AgentRunResultEvent
from pydantic_ai.messages import ModelResponse, ToolCallPart

from switchboard.agents.offline import offline_model
from switchboard.agents.spec import AgentDeps, ConcurrencyLimit, OfflineRules
from switchboard.auth.principal import Principal
from switchboard.insurance import plugin
from switchboard.insurance.extractor import (
    build_extractor_agent,
    extract,
    extractor_rules,
    find_amounts,
    find_dates,
    find_names,
    find_policy_numbers,
    is_policy_number,
    parse_amount,
)
from switchboard.insurance.policy import build_policy_agent, check_claim, policy_rules, read_claim
from switchboard.insurance.schemas import Amount, ExtractedDocument, PolicyDecision

DEPS = AgentDeps(user=Principal(user_id=1, email="agent@example.com", name="Agent", role="member"))

CLAIM = """\
Policy number: POL-123456
Claim amount: $2,500
Incident date: 2025-03-02
Policy start: 2025-01-01
Policy end: 2025-12-31
Coverage limit: $10,000
Deductible: $500
Cause: water damage"""

DOCUMENT = """\
CLAIM FORM
Claimant: Dr. Jane Doe (Jane.Doe@Example.com)
Policyholder name: Sean O'Brien
Policy No. ABC12345, also filed under POL-654321 and pol-654321.
Claim number: CLM-2025001
The pipe burst on 13/07/2025 and was reported on July 14, 2025; Mr. John Smith inspected it on 15 July 2025.
Payment due 2025-08-01. Estimate: $2,500.00 (that is $2,500), plus €300, £12.50, USD 1,000, 1000 EUR.
Deductible: 500
"""


def usd(value: str) -> Amount:
    return Amount(value=Decimal(value), currency="USD")


def claim(**changes: str | None) -> str:
    """CLAIM with some lines replaced (by label) or, given None, removed."""
    lines = dict(line.split(": ", 1) for line in CLAIM.splitlines())
    for label, value in changes.items():
        key = label.replace("_", " ").capitalize()
        if value is None:
            del lines[key]
        else:
            lines[key] = value
    return "\n".join(f"{label}: {value}" for label, value in lines.items())


async def run(agent: Agent[AgentDeps, Any], rules: OfflineRules, prompt: str) -> Any:
    return (await agent.run(prompt, model=offline_model(rules), deps=DEPS)).output


async def run_streamed(agent: Agent[AgentDeps, Any], rules: OfflineRules, prompt: str) -> Any:
    async with agent.run_stream_events(prompt, model=offline_model(rules), deps=DEPS) as events:
        results = [event async for event in events if isinstance(event, AgentRunResultEvent)]
    assert len(results) == 1
    return results[0].result.output


# --- extraction, pure ----------------------------------------------------------------------------------------


def test_extracts_every_field_in_order_without_duplicates() -> None:
    found = extract(DOCUMENT)
    assert found.names == ["Jane Doe", "Sean O'Brien", "John Smith"]
    assert found.dates == [date(2025, 7, 13), date(2025, 7, 14), date(2025, 7, 15), date(2025, 8, 1)]
    assert found.amounts == [
        usd("2500"),
        Amount(value=Decimal("300"), currency="EUR"),
        Amount(value=Decimal("12.50"), currency="GBP"),
        usd("1000"),
        Amount(value=Decimal("1000"), currency="EUR"),
        Amount(value=Decimal("500"), currency=None),
    ]
    assert found.policy_numbers == ["ABC12345", "POL-654321"]
    assert found.claim_numbers == ["CLM-2025001"]
    assert found.emails == ["jane.doe@example.com"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("on 2025-07-13.", date(2025, 7, 13)),
        ("on 13/07/2025.", date(2025, 7, 13)),
        ("on 03/02/2025.", date(2025, 2, 3)),  # day first
        ("on 07/13/2025.", date(2025, 7, 13)),  # 13 cannot be a month: month first
        ("on 13.07.2025.", date(2025, 7, 13)),
        ("on July 13, 2025.", date(2025, 7, 13)),
        ("on Jul 13th 2025.", date(2025, 7, 13)),
        ("on 13 July 2025.", date(2025, 7, 13)),
        ("on 1st Sept, 2025.", date(2025, 9, 1)),
        ("on 13 july 2025.", date(2025, 7, 13)),
    ],
)
def test_each_date_format_is_normalised(text: str, expected: date) -> None:
    assert find_dates(text) == [expected]


def test_impossible_and_partial_dates_are_skipped() -> None:
    assert find_dates("2025-02-30, 31/04/2025, 13/07, July 2025, 13/07-2025") == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("$2,500.75", Amount(value=Decimal("2500.75"), currency="USD")),
        ("€ 300", Amount(value=Decimal("300"), currency="EUR")),
        ("50 €", Amount(value=Decimal("50"), currency="EUR")),
        ("£12", Amount(value=Decimal("12"), currency="GBP")),
        ("GBP 1,234,567", Amount(value=Decimal("1234567"), currency="GBP")),
        ("EUR1000", Amount(value=Decimal("1000"), currency="EUR")),
        ("99.5 USD", Amount(value=Decimal("99.5"), currency="USD")),
        ("Coverage limit: 10,000 GBP", Amount(value=Decimal("10000"), currency="GBP")),
        ("Premium: 120", Amount(value=Decimal("120"), currency=None)),
    ],
)
def test_amounts_and_currencies(text: str, expected: Amount) -> None:
    assert find_amounts(text) == [expected]


def test_bare_numbers_are_not_amounts_unless_labelled_or_parsed_as_a_value() -> None:
    assert find_amounts("Room 12 on floor 3, 2025 people") == []
    assert parse_amount("2,500") == Amount(value=Decimal("2500"), currency=None)
    assert parse_amount("about two thousand") is None


def test_names_need_a_label_or_a_title_and_capitals() -> None:
    text = "Insured: Mary-Ann Lee\nwitness: Ms Ana Ruiz\nmr. nobody, Sum insured: $10,000, Dr Who said hello"
    assert find_names(text) == ["Mary-Ann Lee", "Ana Ruiz", "Who"]


def test_policy_number_patterns() -> None:
    assert find_policy_numbers("refs PN-1234567, POL-12 and Policy #: xyz98765; Policy number: 12345") == [
        "PN-1234567",
        "XYZ98765",
    ]
    assert is_policy_number(" POL-123456 ")
    assert is_policy_number("ABC12345")
    assert not is_policy_number("POL-12")
    assert not is_policy_number("12345678")
    assert not is_policy_number("POL-123456 extra")


def test_a_document_without_fields_gives_empty_lists() -> None:
    empty = ExtractedDocument(names=[], dates=[], amounts=[], policy_numbers=[], claim_numbers=[], emails=[])
    assert extract("the quick brown fox jumps over the lazy dog.") == empty
    assert extract("") == empty


# --- policy checks, pure -------------------------------------------------------------------------------------


def test_a_claim_within_all_rules_is_approved() -> None:
    decision = check_claim(CLAIM)
    assert decision.decision == "approved"
    assert decision.reasons == ["All 6 checks passed."]
    assert [check.rule for check in decision.checks] == [
        "policy_number",
        "claim_amount",
        "within_coverage_limit",
        "above_deductible",
        "within_policy_period",
        "cause_not_excluded",
    ]
    assert all(check.passed for check in decision.checks)


def test_labels_are_read_case_insensitively_with_synonyms() -> None:
    fields = read_claim("POLICY NO.: abc12345\r\nAmount claimed = 100 EUR\n  Date of loss:  13/07/2025  \nExcess: 50")
    assert fields == {"policy_number": "abc12345", "amount": "100 EUR", "incident": "13/07/2025", "deductible": "50"}


@pytest.mark.parametrize(
    ("changes", "rule", "reason"),
    [
        ({"policy_number": None}, "policy_number", "No policy number was given."),
        ({"policy_number": "12-34"}, "policy_number", "Policy number '12-34' is not well-formed."),
        ({"claim_amount": None}, "claim_amount", "No claim amount was given."),
        ({"claim_amount": "$0"}, "claim_amount", "Claim amount '$0' is not an amount above zero."),
        (
            {"claim_amount": "$12,000"},
            "within_coverage_limit",
            "Claim amount USD 12,000 exceeds the coverage limit USD 10,000.",
        ),
        (
            {"claim_amount": "€2,500", "deductible": None},
            "within_coverage_limit",
            "The claim (EUR) and the coverage limit (USD) are in different currencies.",
        ),
        (
            {"claim_amount": "$500"},
            "above_deductible",
            "Claim amount USD 500 does not exceed the deductible USD 500: nothing to pay.",
        ),
        (
            {"incident_date": "2024-12-31"},
            "within_policy_period",
            "Incident date 2024-12-31 is outside the policy period 2025-01-01 to 2025-12-31.",
        ),
        ({"incident_date": None}, "within_policy_period", "No readable incident date was given."),
        ({"policy_end": "soon"}, "within_policy_period", "The policy end 'soon' is not a date."),
        ({"cause": "Wear and tear"}, "cause_not_excluded", "Cause 'Wear and tear' is excluded: wear and tear."),
        (
            {"cause": "fire set deliberately"},
            "cause_not_excluded",
            "Cause 'fire set deliberately' is excluded: intentional damage.",
        ),
        ({"cause": "act of war"}, "cause_not_excluded", "Cause 'act of war' is excluded: war."),
        (
            {"cause": "Nuclear incident"},
            "cause_not_excluded",
            "Cause 'Nuclear incident' is excluded: nuclear or radioactive contamination.",
        ),
    ],
)
def test_each_rule_rejects_on_its_own(changes: dict[str, str | None], rule: str, reason: str) -> None:
    decision = check_claim(claim(**changes))
    assert decision.decision == "rejected"
    assert decision.reasons == [reason]
    assert [check.rule for check in decision.checks if not check.passed] == [rule]


def test_rules_whose_inputs_are_missing_pass_and_say_so() -> None:
    decision = check_claim(
        claim(coverage_limit=None, deductible=None, policy_start=None, policy_end=None, cause="warehouse fire")
    )
    assert decision.decision == "approved"
    details = {check.rule: check.detail for check in decision.checks}
    assert details["within_coverage_limit"] == "No coverage limit was given; not checked."
    assert details["within_policy_period"] == "No policy period was given; not checked."
    assert details["cause_not_excluded"] == "Cause 'warehouse fire' is not excluded."  # "war" is a whole word


def test_an_unlabelled_policy_number_in_the_text_counts() -> None:
    assert check_claim(claim(policy_number=None) + "\nSee policy POL-777777.").decision == "approved"


def test_every_failure_is_a_reason_and_an_empty_claim_is_rejected() -> None:
    decision = check_claim(claim(claim_amount="$20,000", cause="war", incident_date="2026-01-01"))
    assert [check.rule for check in decision.checks if not check.passed] == [
        "within_coverage_limit",
        "within_policy_period",
        "cause_not_excluded",
    ]
    assert len(decision.reasons) == 3
    assert check_claim("").reasons == ["No policy number was given.", "No claim amount was given."]


def test_an_unreadable_limit_or_deductible_rejects() -> None:
    decision = check_claim(claim(coverage_limit="unlimited", deductible="none"))
    assert decision.reasons == [
        "The coverage limit 'unlimited' is not an amount.",
        "The deductible 'none' is not an amount.",
    ]


# --- the agents on the offline model -------------------------------------------------------------------------


@pytest.mark.parametrize("runner", [run, run_streamed])
async def test_extractor_agent_returns_validated_structured_output(runner: Any) -> None:
    output = await runner(build_extractor_agent(), extractor_rules, DOCUMENT)
    assert isinstance(output, ExtractedDocument)
    assert output == extract(DOCUMENT)
    assert output.dates[0] == date(2025, 7, 13)
    assert output.amounts[0] == usd("2500")

    nothing = await runner(build_extractor_agent(), extractor_rules, "nothing to see here")
    assert nothing.names == nothing.dates == nothing.amounts == nothing.policy_numbers == []


@pytest.mark.parametrize("runner", [run, run_streamed])
async def test_policy_agent_approves_and_rejects(runner: Any) -> None:
    approved = await runner(build_policy_agent(), policy_rules, CLAIM)
    assert isinstance(approved, PolicyDecision)
    assert approved.decision == "approved"

    rejected = await runner(build_policy_agent(), policy_rules, claim(claim_amount="$50,000"))
    assert rejected.decision == "rejected"
    assert rejected.reasons == ["Claim amount USD 50,000 exceeds the coverage limit USD 10,000."]


async def test_policy_agent_is_deterministic() -> None:
    agent = build_policy_agent()
    prompt = claim(cause="intentional damage")
    first, second = await run(agent, policy_rules, prompt), await run(agent, policy_rules, prompt)
    assert first == second == check_claim(prompt)
    assert first.decision == "rejected"


async def test_rules_answer_through_the_output_tool() -> None:
    # A real agent run hands the rules the agent's own output tool; capture it to check the rules' response.
    captured: list[ModelResponse] = []

    def spy(messages: Any, info: Any) -> ModelResponse:
        response = policy_rules(messages, info)
        captured.append(response)
        assert [tool.name for tool in info.output_tools] == [response.parts[0].tool_name]  # type: ignore[union-attr]
        return response

    await build_policy_agent().run(CLAIM, model=offline_model(spy), deps=DEPS)
    (part,) = captured[0].parts
    assert isinstance(part, ToolCallPart)
    assert part.args_as_dict()["decision"] == "approved"


# --- the plugin ----------------------------------------------------------------------------------------------


def test_plugin_declares_both_agents_one_run_at_a_time() -> None:
    insurance = plugin()
    assert insurance.name == "insurance"
    specs = {spec.name: spec for spec in insurance.agents}
    assert sorted(specs) == ["document-extractor", "policy-checker"]
    for spec in specs.values():
        assert spec.concurrency == ConcurrencyLimit(max_runs=1, on_busy="reject", group="seed004-runner")
        assert spec.offline is not None
        assert spec.model is None
        assert "not an LLM" in spec.description
        assert spec.agent.name == spec.name
        assert spec.tool_names() == []
    assert specs["document-extractor"].agent.output_type is ExtractedDocument
    assert specs["policy-checker"].agent.output_type is PolicyDecision


def test_plugin_is_registered_as_an_entry_point() -> None:
    names = {entry.name: entry.value for entry in entry_points(group="switchboard.plugins")}
    assert names.get("insurance") == "switchboard.insurance:plugin"


def test_outputs_are_json_serialisable_models() -> None:
    dumped: dict[str, Any] = extract(DOCUMENT).model_dump(mode="json")
    assert dumped["dates"][0] == "2025-07-13"
    assert dumped["amounts"][0] == {"value": "2500.00", "currency": "USD"}
    assert issubclass(PolicyDecision, BaseModel)
