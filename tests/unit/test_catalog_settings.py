"""The catalog's settings: its URL derived from the environment and region, the instance id,
and the classification policy read from names or levels."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from ideaforge_gateway.domain.models import Classification
from ideaforge_gateway.entrypoints.settings import Settings


def settings(**values: object) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[arg-type]


def test_the_catalog_url_is_derived_from_the_environment_and_region() -> None:
    assert settings().catalog_url == "https://api.prod.ai-gateway.quantumblack.com/v1/catalog/models"
    assert (
        settings(ai_gateway_env="dev", ai_gateway_region="eu").catalog_url
        == "https://api.eu.dev.ai-gateway.quantumblack.com/v1/catalog/models"
    )
    explicit = settings(ai_gateway_catalog_url="http://127.0.0.1:8080/v1/catalog/models/", ai_gateway_region="us")
    assert explicit.catalog_url == "http://127.0.0.1:8080/v1/catalog/models"


def test_an_explicit_catalog_url_may_take_the_environment_and_region() -> None:
    template = "https://catalog.{region.}{env}.example/v1/catalog/models"
    chosen = settings(ai_gateway_catalog_url=template, ai_gateway_env="dev", ai_gateway_region="us")
    assert chosen.catalog_template == template
    assert chosen.catalog_url == "https://catalog.us.dev.example/v1/catalog/models"


@pytest.mark.parametrize(
    "bad",
    [
        "ftp://catalog.example",
        "https://user:pw@catalog.example/v1",
        "https://{family}.example/v1/catalog/models",
        "https://api.example/{instance_id}/catalog",
        "https://{env!r}.example/v1",
    ],
)
def test_a_catalog_url_must_be_http_without_credentials(bad: str) -> None:
    with pytest.raises(ValidationError, match="ai_gateway_catalog_url"):
        settings(ai_gateway_catalog_url=bad)


@pytest.mark.parametrize(("given", "expected"), [("Red", Classification.RED), ("1", Classification.YELLOW), ("", None)])
def test_the_classification_policy_takes_names_or_levels_and_is_off_by_default(
    given: str, expected: Classification | None
) -> None:
    assert settings().ai_gateway_max_classification is None
    assert settings(ai_gateway_max_classification=given).ai_gateway_max_classification is expected


def test_a_classification_that_is_not_one_is_refused_naming_the_choices() -> None:
    with pytest.raises(ValidationError, match="Green, Yellow, Red, Purple"):
        settings(ai_gateway_max_classification="magenta")


@pytest.mark.parametrize("bad", ["inst 1", "inst/../x", "inst\r\nX-Evil: 1"])
def test_an_instance_id_is_a_header_and_host_safe_word(bad: str) -> None:
    with pytest.raises(ValidationError, match="ai_gateway_instance_id"):
        settings(ai_gateway_instance_id=bad)
    assert settings(ai_gateway_instance_id=" inst-42 ").ai_gateway_instance_id == "inst-42"
