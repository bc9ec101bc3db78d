"""The text-analysis agents' offline rules on real texts (sentences scored, negation flipping, entities and dates
found), and each agent end to end on the offline model, so its output goes through Pydantic AI's validation."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel

from switchboard.agents.offline import offline_model
from switchboard.agents.spec import AgentDeps, AgentSpec
from switchboard.auth.principal import Principal
from switchboard.text_analysis import plugin
from switchboard.text_analysis.entities import entities_spec, extract, find_dates
from switchboard.text_analysis.outputs import OFFLINE_METHOD, Entities, Sentiment, Summary
from switchboard.text_analysis.sentiment import analyse, classify, score, sentiment_spec
from switchboard.text_analysis.summarizer import how_many, score_sentences, summarize, summarizer_spec
from switchboard.text_analysis.text import sentences

DEPS = AgentDeps(user=Principal(user_id=1, email="agent@example.com", name="Agent", role="member"))

NEWS = (
    "Apple Inc. reported record profits on Monday, March 3, 2025. CEO Tim Cook said the company was very happy "
    "with the results in China and Europe. Analysts at Goldman Sachs Group were not impressed, however, and warned "
    "of slowing growth. The shares fell 2% in New York. Dr. Jane Smith of the University of Oxford called the "
    "outlook uncertain. Smith expects a recovery by 15 June 2025. The board meets again on 2025-04-01 in Berlin."
)

# A text about one subject (the battery), with one sentence off topic: the summary keeps the subject.
REVIEW = (
    "The new battery lasts two full days on a single charge. "
    "I bought it in a shop near the station. "
    "Battery life matters most to me, and this battery beats every phone battery I have owned. "
    "The box was blue. "
    "Charging the battery takes under an hour, so a short charge gives a day of battery life. "
    "My neighbour has a cat."
)


def test_sentences_split_at_ends_but_not_at_abbreviations_or_initials() -> None:
    found = sentences("Dr. Smith met Mr. John F. Kennedy at 3 p.m. in the U.S. office. It went well! Did it? Yes.")
    assert [s.text for s in found] == [
        "Dr. Smith met Mr. John F. Kennedy at 3 p.m. in the U.S. office.",
        "It went well!",
        "Did it?",
        "Yes.",
    ]
    assert [s.index for s in found] == [0, 1, 2, 3]


def test_the_summary_keeps_the_sentences_about_the_texts_subject_in_order() -> None:
    summary = summarize(REVIEW)
    assert summary.sentence_count == 6
    assert how_many(6) == 2
    scores = score_sentences(sentences(REVIEW))
    # The battery sentences outscore the asides about the shop, the box and the cat.
    assert min(scores[0], scores[2], scores[4]) > max(scores[1], scores[3], scores[5])
    assert summary.selected == [0, 2]  # the opening (position bonus) and the densest one, in text order
    assert summary.summary == (
        "The new battery lasts two full days on a single charge. Battery life matters most to me, and this battery "
        "beats every phone battery I have owned."
    )
    assert summary.method == OFFLINE_METHOD


def test_a_short_text_is_its_own_summary_and_longer_ones_keep_thirty_percent() -> None:
    assert summarize("Just one sentence here.").summary == "Just one sentence here."
    assert [how_many(n) for n in (1, 3, 4, 10, 20, 40)] == [1, 1, 2, 3, 5, 5]
    news = summarize(NEWS)
    assert news.sentence_count == 7
    assert len(news.selected) == 3
    assert news.selected == sorted(news.selected)
    assert news.summary.startswith("Apple Inc. reported record profits")  # the lead sentence weighs most


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("I really love this phone. The camera is excellent and the battery is great.", "positive"),
        ("The food was terrible and the service was awful.", "negative"),
        ("The food was not good and the service was not friendly.", "negative"),
        ("The delivery was not bad at all, and nothing was broken.", "positive"),
        ("The hotel was beautiful and the staff friendly, but the room was dirty and the wifi awful.", "mixed"),
        ("The meeting is on Tuesday in room four.", "neutral"),
    ],
)
def test_sentiment_labels(text: str, label: str) -> None:
    result = analyse(text)
    assert result.sentiment == label, result
    assert 0 <= result.confidence <= 1
    assert result.method == OFFLINE_METHOD


def test_negation_flips_a_word_and_intensifiers_weigh_more() -> None:
    positive, negative, counted = score("The service was good.")
    assert (positive, negative) == (1.0, 0.0)
    positive, negative, counted = score("The service was not good.")
    assert (positive, negative) == (0.0, 0.75)
    assert counted == [("not good", -0.75)]
    positive, _, counted = score("The service was very good.")
    assert positive == 1.5
    assert counted == [("very good", 1.5)]
    # A negation does not reach across a clause: "not" belongs to the first one.
    positive, negative, _ = score("It was not expensive, but great.")
    assert negative == 0.0
    assert positive == 0.75 + 1.5  # "not expensive" flipped; "great" after "but" counts 1.5


def test_confidence_grows_with_the_evidence() -> None:
    one = classify(1, 0)
    three = classify(3, 0)
    assert one[0] == three[0] == "positive"
    assert three[1] > one[1]
    assert classify(0, 0) == ("neutral", 0.6)
    label, confidence = classify(2, 2)
    assert label == "mixed"
    assert classify(4, 4)[1] > confidence


def test_entities_in_a_news_text() -> None:
    found = extract(NEWS)
    assert found.persons == ["Tim Cook", "Jane Smith"]  # titles dropped; a later "Smith" is the same person
    assert found.organizations == ["Apple Inc.", "Goldman Sachs Group", "University of Oxford"]
    assert found.locations == ["China", "Europe", "New York", "Berlin"]
    assert found.dates == ["Monday", "March 3, 2025", "15 June 2025", "2025-04-01"]
    assert found.method == OFFLINE_METHOD


def test_entities_acronyms_brands_places_after_in_and_titles() -> None:
    found = extract(
        "Microsoft and OpenAI announced a partnership in San Francisco on 12/05/2024. Satya Nadella met Sam Altman "
        "and Mrs. Ada Lovelace at NASA headquarters. The World Health Organization, based in Geneva, will report in "
        "March. General Motors expects sales to rise by Friday. The team moved to Springfield in Oregon."
    )
    assert found.persons == ["Satya Nadella", "Sam Altman", "Ada Lovelace"]
    assert found.organizations == ["OpenAI", "NASA", "World Health Organization", "General Motors"]
    assert found.locations == ["San Francisco", "Geneva", "Oregon"]
    assert found.dates == ["12/05/2024", "March", "Friday"]


def test_dates_in_every_documented_form() -> None:
    text = (
        "Filed 2025-03-03, due 03/04/2025, heard March 3, 2025 and 3 March 2025, again on the 4th of April 2025, "
        "in May 2025, on June 5th, and every Wednesday. The weather may change."
    )
    assert find_dates(text) == [
        "2025-03-03",
        "03/04/2025",
        "March 3, 2025",
        "3 March 2025",
        "4th of April 2025",
        "May 2025",
        "June 5th",
        "Wednesday",
    ]


@pytest.mark.parametrize(
    ("spec", "output_type", "text"),
    [
        (summarizer_spec(), Summary, REVIEW),
        (sentiment_spec(), Sentiment, "The food was not good and the service was terrible."),
        (entities_spec(), Entities, NEWS),
    ],
)
async def test_each_agent_answers_with_its_structured_output(
    spec: AgentSpec, output_type: type[BaseModel], text: str
) -> None:
    result = await spec.agent.run(text, model=offline_model(spec.offline), deps=DEPS)
    assert isinstance(result.output, output_type)
    assert result.output.method == OFFLINE_METHOD  # type: ignore[attr-defined]
    expected: dict[str, Any] = {
        "summarizer": summarize(text).model_dump(),
        "sentiment": analyse(text).model_dump(),
        "entities": extract(text).model_dump(),
    }[spec.name]
    assert result.output.model_dump() == expected
    assert "rules, not an LLM" in spec.description


def test_the_plugin_brings_three_agents_and_two_pipelines() -> None:
    bundle = plugin()
    assert [agent.name for agent in bundle.agents] == ["summarizer", "sentiment", "entities"]
    assert {p.name: [[s.agent for s in stage] for stage in p.stages] for p in bundle.pipelines} == {
        "text-analysis": [["summarizer", "sentiment", "entities"]],
        "text-analysis-sequential": [["summarizer"], ["sentiment"], ["entities"]],
    }
