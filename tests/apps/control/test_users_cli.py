"""``boxoffice user set-password``: creates the user or changes the password, optionally as an organizer admin."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from boxoffice.apps.cli import cli
from boxoffice.apps.control.passwords import verify_password
from boxoffice.kernel.models import Organizer, Team
from boxoffice.kernel.models.users import User


@pytest.fixture
def run(kernel, config, monkeypatch):
    monkeypatch.setenv("BOXOFFICE_DATABASE_URL", config.database_url)
    monkeypatch.setenv("BOXOFFICE_DATA_DIR", str(config.data_dir))
    monkeypatch.delenv("BOXOFFICE_REDIS_URL", raising=False)
    monkeypatch.delenv("BOXOFFICE_BROKER_URL", raising=False)

    def invoke(*args: str, **options):
        return CliRunner().invoke(cli, list(args), obj={}, **options)

    return invoke


def test_creates_a_user_and_an_admin_team(run, kernel):
    with kernel.db.session() as session:
        session.add(Organizer(slug="demo", name="Demo", plugins=[]))
    result = run("user", "set-password", "Ada@Example.org", "--admin-of", "demo", input="first password\n" * 2)
    assert result.exit_code == 0, result.output
    assert "created user Ada@Example.org" in result.output and "Administrators" in result.output
    with kernel.db.session() as session:
        user = session.scalar(select(User))
        assert user.password.startswith("$argon2id$") and verify_password(user.password, "first password")
        team = session.scalar(select(Team))
        assert (team.name, team.all_event_permissions, [m.email for m in team.members]) == (
            "Administrators",
            True,
            ["Ada@Example.org"],
        )
    again = run("user", "set-password", "ada@example.org", "--password", "second password")
    assert again.exit_code == 0 and "password set for" in again.output
    with kernel.db.session() as session:
        user = session.scalar(select(User))
        assert verify_password(user.password, "second password") and not verify_password(
            user.password, "first password"
        )
        assert session.scalar(select(User.id).where(User.id != user.id)) is None


def test_refuses_short_passwords_and_unknown_organizers(run, kernel):
    short = run("user", "set-password", "a@example.org", "--password", "short")
    assert short.exit_code == 1 and "at least 8 characters" in short.output
    unknown = run("user", "set-password", "a@example.org", "--password", "long enough", "--admin-of", "nope")
    assert unknown.exit_code == 1 and "no organizer 'nope'" in unknown.output
    with kernel.db.session() as session:
        assert session.scalar(select(User.id)) is None
