from __future__ import annotations

from dataclasses import dataclass

import pytest
from sqlmodel import Session

from models import Brand, Pipeline
from tests.api.conftest import app, client  # noqa: F401 (fixtures)
from tests.api_workflows.conftest import api  # noqa: F401 (fixtures)
from tests.factories import make_brand, make_pipeline
from tests.workflows.conftest import smtp, stack, time_env  # noqa: F401 (fixtures)


@dataclass
class Setup:
    brand: Brand
    pipeline: Pipeline
    other_brand: Brand
    other_pipeline: Pipeline


@pytest.fixture
def setup(session: Session) -> Setup:
    brand = make_brand(session, slug="acme", name="Acme Web")
    other = make_brand(session, slug="other", name="Other Co")
    return Setup(
        brand=brand,
        pipeline=make_pipeline(session, brand=brand, slug="sales"),
        other_brand=other,
        other_pipeline=make_pipeline(session, brand=other, slug="sales"),
    )
