"""Users on SQLite and PostgreSQL: passwords, roles, brand grants, the first admin, the
throttle, and the `dealpilot users` commands."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import Session
from typer.testing import CliRunner

from dealpilot.accounts import (
    LoginThrottle,
    authenticate,
    brand_scope,
    change_password,
    create_user,
    first_admin,
    reset_password,
    session_user,
)
from dealpilot.cli.users import users_app
from dealpilot.core.errors import Conflict, NotFound, Unprocessable
from dealpilot.core.settings import get_settings
from models import User, UserRole
from tests.factories import make_brand


def test_users_hash_passwords_and_check_them(any_engine: Engine) -> None:
    with Session(any_engine) as s:
        make_brand(s, slug="desifirms")
        user = create_user(
            s,
            email="Ops@DesiFirms.com.au",
            password="long-enough-pw",
            role=UserRole.operator,
            brands=["desifirms"],
        )
        s.commit()
        assert user.email == "ops@desifirms.com.au"
        assert user.password_hash.startswith("$argon2id$")
        assert "long-enough-pw" not in user.password_hash
        assert authenticate(s, "ops@desifirms.com.au", "long-enough-pw") is not None
        assert authenticate(s, "ops@desifirms.com.au", "wrong-password") is None
        assert authenticate(s, "nobody@desifirms.com.au", "long-enough-pw") is None
        with pytest.raises(Conflict):
            create_user(s, email="ops@desifirms.com.au", password="x" * 12, role=UserRole.admin)
        with pytest.raises(Unprocessable):
            create_user(s, email="new@desifirms.com.au", password="short", role=UserRole.admin)
        with pytest.raises(NotFound):
            create_user(
                s,
                email="n@desifirms.com.au",
                password="x" * 12,
                role=UserRole.operator,
                brands=["no-such-brand"],
            )


def test_a_new_password_ends_older_sessions(any_engine: Engine) -> None:
    with Session(any_engine) as s:
        user = create_user(s, email="a@example.com", password="first-password", role=UserRole.admin)
        version = user.session_version
        assert session_user(s, user.id or 0, version) is not None
        with pytest.raises(Unprocessable):
            change_password(s, user.id or 0, current="not-it-at-all", new="second-password")
        change_password(s, user.id or 0, current="first-password", new="second-password")
        assert session_user(s, user.id or 0, version) is None
        reset_password(s, "a@example.com", "third-password")
        assert authenticate(s, "a@example.com", "third-password") is not None
        user.is_active = False
        s.flush()
        assert authenticate(s, "a@example.com", "third-password") is None


def test_scopes_admins_see_everything_operators_their_brands(any_engine: Engine) -> None:
    with Session(any_engine) as s:
        desi = make_brand(s, slug="desifirms")
        make_brand(s, slug="codeteki")
        admin = create_user(s, email="ad@example.com", password="x" * 12, role=UserRole.admin)
        ops = create_user(
            s,
            email="op@example.com",
            password="x" * 12,
            role=UserRole.operator,
            brands=["desifirms"],
        )
        assert brand_scope(s, admin).brand_ids is None
        assert brand_scope(s, ops).brand_ids == frozenset({desi.id})


def test_first_admin_only_on_an_empty_table(any_engine: Engine) -> None:
    with Session(any_engine) as s:
        assert first_admin(s, email="admin@dealpilot.dev", password="p" * 16) is not None
        assert first_admin(s, email="other@dealpilot.dev", password="p" * 16) is None
        s.commit()


def test_throttle_counts_failures_in_a_sliding_window() -> None:
    now = [1000.0]
    throttle = LoginThrottle(max_failures=3, window=timedelta(minutes=1), clock=lambda: now[0])
    for _ in range(3):
        assert not throttle.blocked("a")
        throttle.failed("a", "ip")
    assert throttle.blocked("a")
    assert throttle.blocked("b", "ip")  # the same client, another address
    now[0] += 61
    assert not throttle.blocked("a", "ip")
    throttle.failed("a")
    throttle.succeeded("a")
    assert not throttle.blocked("a")


@pytest.fixture
def fresh_settings() -> Iterator[None]:
    get_settings.cache_clear()  # the commands read the environment CliRunner sets
    yield
    get_settings.cache_clear()


@pytest.mark.usefixtures("fresh_settings")
def test_users_cli_creates_and_resets(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    env = {"DATABASE_URL": url, "DEALPILOT_DATA_DIR": str(tmp_path), "DEALPILOT_ENV": "test"}
    runner = CliRunner()
    made = runner.invoke(
        users_app,
        ["create", "boss@example.com", "--role", "admin", "--password-stdin"],
        input="a-strong-password\n",
        env=env,
    )
    assert made.exit_code == 0, made.output
    assert "created boss@example.com (admin)" in made.output
    again = runner.invoke(
        users_app,
        ["create", "boss@example.com", "--role", "admin", "--password-stdin"],
        input="a-strong-password\n",
        env=env,
    )
    assert again.exit_code == 1
    assert "user_exists" in again.output
    no_brand = runner.invoke(users_app, ["create", "op@example.com", "--password-stdin"], env=env)
    assert no_brand.exit_code == 2
    reset = runner.invoke(
        users_app,
        ["reset-password", "boss@example.com", "--password-stdin"],
        input="another-password\n",
        env=env,
    )
    assert reset.exit_code == 0, reset.output
    from models import make_engine

    engine = make_engine(url)
    try:
        with Session(engine) as s:
            assert authenticate(s, "boss@example.com", "another-password") is not None
            assert s.get(User, 1) is not None
    finally:
        engine.dispose()
