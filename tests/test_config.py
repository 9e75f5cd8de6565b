from __future__ import annotations

import json
import os
import tomllib
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from werkzeug.utils import ImportStringError

from microframe.config import DEFAULT_CONFIG, Config, ConfigAttribute


class Settings:
    SECRET_KEY = "from-class"
    DEBUG = True
    lowercase = "ignored"
    Mixed_Case = "ignored"


def assert_loaded(config: Config) -> None:
    assert config["SECRET_KEY"] == "from-class"
    assert config["DEBUG"] is True
    assert "lowercase" not in config
    assert "Mixed_Case" not in config


# -- construction ---------------------------------------------------------


def test_defaults_are_copied(tmp_path: Path) -> None:
    config = Config(tmp_path, DEFAULT_CONFIG)
    config["TESTING"] = True
    assert DEFAULT_CONFIG["TESTING"] is False
    assert config.root_path == tmp_path


def test_no_defaults() -> None:
    assert Config("/") == {}


def test_repr() -> None:
    assert repr(Config("/", {"A": 1})) == "<Config {'A': 1}>"


# -- from_object ----------------------------------------------------------


def test_from_object_class() -> None:
    config = Config("/")
    config.from_object(Settings)
    assert_loaded(config)


def test_from_object_instance_and_module() -> None:
    config = Config("/")
    config.from_object(Settings())
    assert_loaded(config)
    config = Config("/")
    config.from_object(os)
    assert config["O_RDONLY"] == os.O_RDONLY


def test_from_object_import_string(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "mf_settings.py").write_text("SECRET_KEY = 'imported'\nhelper = 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    config = Config("/")
    config.from_object("mf_settings")
    assert config == {"SECRET_KEY": "imported"}


def test_from_object_bad_import_string() -> None:
    with pytest.raises(ImportStringError):
        Config("/").from_object("no_such_module_for_microframe_tests.Settings")


def test_from_object_without_uppercase_attributes() -> None:
    config = Config("/")
    config.from_object(42)
    assert config == {}


# -- from_pyfile ----------------------------------------------------------


def test_from_pyfile(tmp_path: Path) -> None:
    (tmp_path / "settings.cfg").write_text(
        "import os\nSECRET_KEY = 'from-file'\nDEBUG = True\nPATH = __file__\nlocal = 1\n"
    )
    config = Config(tmp_path)
    assert config.from_pyfile("settings.cfg") is True
    assert config["SECRET_KEY"] == "from-file"
    assert config["DEBUG"] is True
    assert config["PATH"] == os.path.join(tmp_path, "settings.cfg")
    assert "local" not in config and "os" not in config


def test_from_pyfile_absolute_path(tmp_path: Path) -> None:
    path = tmp_path / "settings.py"
    path.write_text("A = 1\n")
    config = Config("/somewhere/else")
    config.from_pyfile(path)
    assert config["A"] == 1


def test_from_pyfile_missing(tmp_path: Path) -> None:
    config = Config(tmp_path)
    with pytest.raises(OSError) as info:
        config.from_pyfile("missing.cfg")
    message = str(info.value)
    assert "Unable to load configuration file (No such file or directory)" in message
    assert str(tmp_path / "missing.cfg") in message
    assert isinstance(info.value, FileNotFoundError)


def test_from_pyfile_missing_silent(tmp_path: Path) -> None:
    config = Config(tmp_path)
    assert config.from_pyfile("missing.cfg", silent=True) is False
    assert config.from_pyfile(".", silent=True) is False  # a directory
    assert config == {}


def test_from_pyfile_directory_not_silent(tmp_path: Path) -> None:
    with pytest.raises(OSError, match="Unable to load configuration file"):
        Config(tmp_path).from_pyfile(".")


def test_from_pyfile_syntax_error_propagates(tmp_path: Path) -> None:
    (tmp_path / "bad.cfg").write_text("SECRET_KEY = \n")
    with pytest.raises(SyntaxError):
        Config(tmp_path).from_pyfile("bad.cfg", silent=True)


# -- from_file ------------------------------------------------------------


def test_from_file_json(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text('{"SECRET_KEY": "json", "lower": 1}')
    config = Config(tmp_path)
    assert config.from_file("config.json", load=json.load) is True
    assert config == {"SECRET_KEY": "json"}


def test_from_file_toml_binary(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text('SECRET_KEY = "toml"\n[DB]\nPORT = 5432\n')
    config = Config(tmp_path)
    config.from_file("config.toml", load=tomllib.load, text=False)
    assert config == {"SECRET_KEY": "toml", "DB": {"PORT": 5432}}


def test_from_file_missing(tmp_path: Path) -> None:
    config = Config(tmp_path)
    with pytest.raises(FileNotFoundError, match=r"Unable to load configuration file \(No such"):
        config.from_file("missing.json", load=json.load)
    assert config.from_file("missing.json", load=json.load, silent=True) is False


def test_from_file_not_a_mapping(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text("[1, 2]")
    with pytest.raises(TypeError, match=r"must contain a mapping.*returned a list"):
        Config(tmp_path).from_file("config.json", load=json.load)


def test_from_file_parse_error_propagates(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text("{not json")
    with pytest.raises(json.JSONDecodeError):
        Config(tmp_path).from_file("config.json", load=json.load, silent=True)


# -- from_envvar ----------------------------------------------------------


def test_from_envvar(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "settings.cfg"
    path.write_text("SECRET_KEY = 'env'\n")
    monkeypatch.setenv("MF_SETTINGS", str(path))
    config = Config("/")
    assert config.from_envvar("MF_SETTINGS") is True
    assert config["SECRET_KEY"] == "env"


def test_from_envvar_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MF_SETTINGS", raising=False)
    config = Config("/")
    with pytest.raises(RuntimeError) as info:
        config.from_envvar("MF_SETTINGS")
    message = str(info.value)
    assert "'MF_SETTINGS' is not set" in message
    assert "point to a configuration file" in message
    assert config.from_envvar("MF_SETTINGS", silent=True) is False


def test_from_envvar_empty_is_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MF_SETTINGS", "")
    with pytest.raises(RuntimeError, match="is not set"):
        Config("/").from_envvar("MF_SETTINGS")


def test_from_envvar_missing_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MF_SETTINGS", str(tmp_path / "missing.cfg"))
    config = Config("/")
    with pytest.raises(FileNotFoundError, match=r"missing\.cfg"):
        config.from_envvar("MF_SETTINGS")
    assert config.from_envvar("MF_SETTINGS", silent=True) is False


# -- from_prefixed_env ----------------------------------------------------


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in list(os.environ):
        if name.startswith(("MICROFRAME_", "FLASK_", "MYAPP_")):
            monkeypatch.delenv(name)
    return monkeypatch


def test_from_prefixed_env_values(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("MICROFRAME_STRING", "plain text")
    clean_env.setenv("MICROFRAME_INT", "42")
    clean_env.setenv("MICROFRAME_FLOAT", "1.5")
    clean_env.setenv("MICROFRAME_BOOL", "true")
    clean_env.setenv("MICROFRAME_NULL", "null")
    clean_env.setenv("MICROFRAME_LIST", "[1, 2]")
    clean_env.setenv("MICROFRAME_QUOTED", '"42"')
    clean_env.setenv("MICROFRAMEX_OTHER", "1")
    clean_env.setenv("MYAPP_OTHER", "1")
    config = Config("/")
    assert config.from_prefixed_env() is True
    assert config == {
        "STRING": "plain text",
        "INT": 42,
        "FLOAT": 1.5,
        "BOOL": True,
        "NULL": None,
        "LIST": [1, 2],
        "QUOTED": "42",
    }


def test_from_prefixed_env_reads_flask_names_too(clean_env: pytest.MonkeyPatch) -> None:
    # A ported Flask app's environment keeps working; microframe's name wins.
    clean_env.setenv("FLASK_SECRET_KEY", "from flask")
    clean_env.setenv("FLASK_ONLY", "1")
    clean_env.setenv("MICROFRAME_SECRET_KEY", "from microframe")
    clean_env.setenv("FLASK_DB__HOST", "flask-host")
    clean_env.setenv("FLASK_DB__PORT", "1")
    clean_env.setenv("MICROFRAME_DB__PORT", "2")
    config = Config("/")
    config.from_prefixed_env()
    assert config == {
        "SECRET_KEY": "from microframe",
        "ONLY": 1,
        "DB": {"HOST": "flask-host", "PORT": 2},
    }


def test_from_prefixed_env_with_a_prefix_reads_only_that_one(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("FLASK_A", "flask")
    clean_env.setenv("MICROFRAME_A", "microframe")
    config = Config("/")
    config.from_prefixed_env("FLASK")
    assert config == {"A": "flask"}
    config = Config("/")
    config.from_prefixed_env("MICROFRAME")
    assert config == {"A": "microframe"}


def test_from_prefixed_env_custom_prefix_and_loads(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("MYAPP_SECRET_KEY", "123")
    clean_env.setenv("MICROFRAME_IGNORED", "1")
    config = Config("/")
    config.from_prefixed_env("MYAPP", loads=str.upper)
    assert config == {"SECRET_KEY": "123"}
    clean_env.setenv("MYAPP_NAME", "abc")
    config.from_prefixed_env("MYAPP", loads=str.upper)
    assert config["NAME"] == "ABC"


def test_from_prefixed_env_failing_loads_keeps_string(clean_env: pytest.MonkeyPatch) -> None:
    def refuse(value: str) -> Any:
        raise ValueError(value)

    clean_env.setenv("MICROFRAME_A", "1")
    config = Config("/")
    config.from_prefixed_env(loads=refuse)
    assert config == {"A": "1"}


def test_from_prefixed_env_nested(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("MICROFRAME_DB__HOST", "localhost")
    clean_env.setenv("MICROFRAME_DB__PORT", "5432")
    clean_env.setenv("MICROFRAME_DB__OPTIONS__SSL", "false")
    clean_env.setenv("MICROFRAME_CACHE__TYPE", "redis")
    config = Config("/", {"CACHE": {"TIMEOUT": 30}})
    config.from_prefixed_env()
    assert config["DB"] == {"HOST": "localhost", "PORT": 5432, "OPTIONS": {"SSL": False}}
    assert config["CACHE"] == {"TIMEOUT": 30, "TYPE": "redis"}


def test_from_prefixed_env_nested_into_non_dict(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("MICROFRAME_DB__HOST", "localhost")
    config = Config("/", {"DB": "sqlite://"})
    with pytest.raises(TypeError, match="'DB' holds a str, not a dict"):
        config.from_prefixed_env()


def test_from_prefixed_env_nested_after_scalar_in_same_run(
    clean_env: pytest.MonkeyPatch,
) -> None:
    # Sorted order: DB is set to a number before DB__HOST tries to nest into it.
    clean_env.setenv("MICROFRAME_DB", "1")
    clean_env.setenv("MICROFRAME_DB__HOST", "localhost")
    with pytest.raises(TypeError, match="MICROFRAME_DB__HOST"):
        Config("/").from_prefixed_env()


# -- from_mapping ---------------------------------------------------------


def test_from_mapping() -> None:
    config = Config("/")
    assert config.from_mapping({"SECRET_KEY": "a", "lower": 1}, DEBUG=True, other=2) is True
    assert config == {"SECRET_KEY": "a", "DEBUG": True}


def test_from_mapping_kwargs_win_and_none() -> None:
    config = Config("/")
    config.from_mapping({"A": 1}, A=2)
    assert config == {"A": 2}
    config.from_mapping(None)
    config.from_mapping()
    assert config == {"A": 2}


def test_from_mapping_accepts_pairs_and_ignores_non_str_keys() -> None:
    config = Config("/")
    config.from_mapping([("A", 1), (2, "two")])  # type: ignore[arg-type]
    assert config == {"A": 1}


def test_from_mapping_bad_type() -> None:
    with pytest.raises(TypeError):
        Config("/").from_mapping(42)  # type: ignore[arg-type]


# -- get_namespace --------------------------------------------------------


@pytest.fixture
def image_config() -> Config:
    return Config(
        "/",
        {
            "IMAGE_STORE_TYPE": "fs",
            "IMAGE_STORE_PATH": "/var/app/images",
            "IMAGE_STORE_BASE_URL": "http://img.example.com",
            "OTHER": 1,
        },
    )


def test_get_namespace(image_config: Config) -> None:
    assert image_config.get_namespace("IMAGE_STORE_") == {
        "type": "fs",
        "path": "/var/app/images",
        "base_url": "http://img.example.com",
    }


def test_get_namespace_options(image_config: Config) -> None:
    assert image_config.get_namespace("IMAGE_STORE_", lowercase=False) == {
        "TYPE": "fs",
        "PATH": "/var/app/images",
        "BASE_URL": "http://img.example.com",
    }
    assert image_config.get_namespace("IMAGE_STORE_", trim_namespace=False) == {
        "image_store_type": "fs",
        "image_store_path": "/var/app/images",
        "image_store_base_url": "http://img.example.com",
    }
    assert image_config.get_namespace("NOPE_") == {}


# -- ConfigAttribute ------------------------------------------------------


def _to_timedelta(value: timedelta | int) -> timedelta:
    return value if isinstance(value, timedelta) else timedelta(seconds=value)


class StubApp:
    debug = ConfigAttribute[bool]("DEBUG")
    lifetime = ConfigAttribute[timedelta]("PERMANENT_SESSION_LIFETIME", get_converter=_to_timedelta)

    def __init__(self) -> None:
        self.config = Config("/", DEFAULT_CONFIG)


def test_config_attribute_forwards() -> None:
    app = StubApp()
    assert app.debug is None
    app.debug = True
    assert app.config["DEBUG"] is True
    app.config["DEBUG"] = False
    assert app.debug is False


def test_config_attribute_converter() -> None:
    app = StubApp()
    assert app.lifetime == timedelta(days=31)
    app.lifetime = 60
    assert app.config["PERMANENT_SESSION_LIFETIME"] == 60
    assert app.lifetime == timedelta(seconds=60)


def test_config_attribute_on_class() -> None:
    descriptor = StubApp.debug
    assert isinstance(descriptor, ConfigAttribute)
    assert descriptor.__name__ == "DEBUG"


def test_config_attribute_missing_key() -> None:
    app = StubApp()
    del app.config["DEBUG"]
    with pytest.raises(KeyError):
        _ = app.debug


# -- DEFAULT_CONFIG -------------------------------------------------------


def test_default_config_async_limits() -> None:
    assert DEFAULT_CONFIG["MAX_CONTENT_LENGTH"] == 16 * 1024 * 1024
    assert DEFAULT_CONFIG["BODY_TIMEOUT"] == 60
    assert DEFAULT_CONFIG["RESPONSE_TIMEOUT"] == 60
    assert DEFAULT_CONFIG["BACKGROUND_TASK_SHUTDOWN_TIMEOUT"] == 5
    assert DEFAULT_CONFIG["SYNC_WORKERS"] == 32
    assert DEFAULT_CONFIG["GC_FREEZE_AFTER_STARTUP"] is True
    assert DEFAULT_CONFIG["PERMANENT_SESSION_LIFETIME"] == timedelta(days=31)
    assert all(key.isupper() for key in DEFAULT_CONFIG)


def test_default_config_matches_flask() -> None:
    flask = pytest.importorskip("flask")
    ours = dict(DEFAULT_CONFIG)
    theirs = dict(flask.Flask.default_config)
    assert ours.pop("MAX_CONTENT_LENGTH") is not None
    assert theirs.pop("MAX_CONTENT_LENGTH") is None
    extras = {
        "BODY_TIMEOUT",
        "RESPONSE_TIMEOUT",
        "BACKGROUND_TASK_SHUTDOWN_TIMEOUT",
        "SYNC_WORKERS",
        "GC_FREEZE_AFTER_STARTUP",
    }
    assert {key: ours[key] for key in ours.keys() - extras} == theirs
