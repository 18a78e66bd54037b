from pathlib import Path

import pytest

from boxoffice.kernel.config import Config, ConfigError, load_config


def test_defaults_are_the_embedded_mode():
    config = load_config(environ={})
    assert config.effective_database_url.startswith("sqlite:///")
    assert config.effective_database_url.endswith("data/boxoffice.sqlite3")
    assert config.runs_jobs_in_process


def test_environment_overrides_file(tmp_path: Path):
    file = tmp_path / "boxoffice.toml"
    file.write_text('[boxoffice]\ndatabase_url = "postgresql://db/file"\ndb_pool_size = 3\nlocales = ["en", "de"]\n')
    config = load_config(
        environ={"BOXOFFICE_CONFIG": str(file), "BOXOFFICE_DB_POOL_SIZE": "9", "BOXOFFICE_REDIS_URL": "redis://r/0"}
    )
    assert config.database_url == "postgresql://db/file"
    assert config.db_pool_size == 9
    assert config.locales == ("en", "de")
    assert config.effective_broker_url == "redis://r/0"
    assert not config.runs_jobs_in_process


@pytest.mark.parametrize(
    ("environ", "culprit"),
    [
        ({"BOXOFFICE_DB_POOL_SIZE": "many"}, "BOXOFFICE_DB_POOL_SIZE"),
        ({"BOXOFFICE_DEBUG": "perhaps"}, "BOXOFFICE_DEBUG"),
        ({"BOXOFFICE_DATABASE_URL": "mysql://x/y"}, "BOXOFFICE_DATABASE_URL"),
        ({"BOXOFFICE_BROKER_URL": "ftp://x"}, "BOXOFFICE_BROKER_URL"),
        ({"BOXOFFICE_DEFAULT_LOCALE": "fr"}, "BOXOFFICE_DEFAULT_LOCALE"),
        ({"BOXOFFICE_DB_POOL_SIZE": "0"}, "BOXOFFICE_DB_POOL_SIZE"),
        ({"BOXOFFICE_ORDER_CODE_LENGTH": "4"}, "BOXOFFICE_ORDER_CODE_LENGTH"),
        ({"BOXOFFICE_ORDER_CODE_LENGTH": "16"}, "BOXOFFICE_ORDER_CODE_LENGTH"),
        ({"BOXOFFICE_TICKET_SECRET_LENGTH": "8"}, "BOXOFFICE_TICKET_SECRET_LENGTH"),
    ],
)
def test_malformed_values_name_the_culprit(environ, culprit):
    with pytest.raises(ConfigError, match=culprit):
        load_config(environ=environ)


def test_bad_config_files(tmp_path: Path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(environ={"BOXOFFICE_CONFIG": str(tmp_path / "missing.toml")})
    broken = tmp_path / "broken.toml"
    broken.write_text("database_url = ")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(environ={}, config_file=broken)
    unknown = tmp_path / "unknown.toml"
    unknown.write_text('databse_url = "x"\n')
    with pytest.raises(ConfigError, match="unknown setting 'databse_url'"):
        load_config(environ={}, config_file=unknown)
    wrong_type = tmp_path / "wrong.toml"
    wrong_type.write_text("db_pool_size = true\n")
    with pytest.raises(ConfigError, match="db_pool_size"):
        load_config(environ={}, config_file=wrong_type)


def test_config_is_immutable():
    with pytest.raises(AttributeError):
        Config().debug = True  # type: ignore[misc]


@pytest.mark.parametrize(
    "url",
    ["postgresql://u@h:notaport/db", "postgresql+asyncpg://u@h/db", "mysql://x/y", "not a url at all"],
)
def test_database_urls_are_checked_up_front(url):
    with pytest.raises(ConfigError, match="BOXOFFICE_DATABASE_URL"):
        load_config(environ={"BOXOFFICE_DATABASE_URL": url})


def test_postgres_scheme_alias_is_accepted():
    assert load_config(environ={"BOXOFFICE_DATABASE_URL": "postgres://u@h:5432/db"}).database_url
