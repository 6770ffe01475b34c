"""Schema-driven fuzzing of the HTTP API with Schemathesis: generated requests, valid and invalid, against the
running server; every answer must be documented, never a 5xx, and every error a Chinese JSON message."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from rag.config import Settings
from rag.question import NO_TOPIC_QUESTION, NOT_UTF8_QUESTION
from tests.test_api import pipeline_with, serving
from tests.test_app import GRADIO_INTERNAL_WARNINGS

schemathesis = pytest.importorskip("schemathesis")
pytestmark = GRADIO_INTERNAL_WARNINGS
TOKEN = "fuzz-token"  # with auth on, Schemathesis also checks that requests without it are refused
# Schemathesis' default statuses for rejected invalid data, plus 413: a generated body over the API's size
# limit (an `answer` of a million characters) is refused before it is parsed, which is the right answer.
# A schema-valid request may still be refused (422) for what no JSON schema can say of a question: that it asks
# without naming a topic ("啥" with no earlier question), or holds text that is not UTF-8 (a lone surrogate).
CONFIG = schemathesis.config.SchemathesisConfig.from_dict({"checks": {
    "negative_data_rejection": {"expected-statuses": [400, 401, 403, 404, 405, 406, 409, 413, 415, 422, 428, 429, "5xx"]},
    "positive_data_acceptance": {"expected-statuses": ["2xx", "3xx", 401, 403, 404, 409, 422, 429, "5xx"]}}})
CONTENT_REFUSALS = (NO_TOPIC_QUESTION, NOT_UTF8_QUESTION)


@pytest.fixture(scope="module")
def api_schema(corpus_settings_fixture: Settings, default_embedder: Any,
               tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    feedback_file: Path = tmp_path_factory.mktemp("fuzz") / "feedback.sqlite"
    with serving(pipeline_with(corpus_settings_fixture, default_embedder, feedback_file=str(feedback_file),
                               api_token=TOKEN)) as url:
        yield schemathesis.openapi.from_url(f"{url}/openapi.json", config=CONFIG)


def chinese_json_errors(ctx: Any, response: Any, case: Any) -> bool:
    """Every 4xx is `{"error": "<a message with Chinese in it>"}`."""
    if 400 <= response.status_code < 500:
        body = response.json()
        assert set(body) == {"error"} and re.search(r"[\u4e00-\u9fff]", body["error"]), body
    return True


def refused_only_for_the_question_itself(ctx: Any, response: Any, case: Any) -> bool:
    """A schema-valid request refused with 422 names what the schema cannot say, never a field."""
    if response.status_code == 422:
        assert response.json()["error"] in CONTENT_REFUSALS, response.json()
    return True


@pytest.mark.parametrize("mode", ["positive", "negative"])
def test_the_api_holds_up_to_generated_requests(api_schema: Any, mode: str) -> None:
    # Driven with hypothesis directly: Schemathesis' own pytest integration does not run under pytest 9.
    generation = schemathesis.GenerationMode(mode)
    checks = [chinese_json_errors] + ([refused_only_for_the_question_itself] if mode == "positive" else [])
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert {operation.path for operation in operations} >= {"/api/ask", "/api/search", "/api/feedback", "/api/export"}
    for operation in operations:
        if mode == "negative" and operation.method.upper() != "POST":
            continue  # GET /api/health and /api/documents take nothing that could be wrong

        @given(case=operation.as_strategy(generation_mode=generation))
        @settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def call(case: Any) -> None:
            case.call_and_validate(headers={"Authorization": f"Bearer {TOKEN}"},
                                   additional_checks=checks)

        call()
