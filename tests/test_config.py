"""Loading the TOML config: env expansion, validation messages, secrets kept out of output."""

import subprocess
import sys
from pathlib import Path

import pytest

from agentdeck.backends.local.settings import LocalSettings
from agentdeck.backends.make.settings import MakeSettings
from agentdeck.config import load_settings
from agentdeck.errors import ConfigError

MAKE = """
[backends.ops]
kind = "make"
base_url = "https://eu2.make.com/api/v2"
token = "${MAKE_TOKEN}"
team_id = 123
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "agentdeck.toml"
    path.write_text(text)
    return path


def refusal(path: Path, environ: dict[str, str]) -> str:
    """What loading the config at ``path`` with ``environ`` says when it must refuse it."""
    with pytest.raises(ConfigError) as caught:
        load_settings(path, environ=environ)
    return str(caught.value)


def test_env_references_are_expanded_and_secrets_never_print(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, MAKE), environ={"MAKE_TOKEN": "tok-abcdef"})
    ops = settings.backends["ops"]
    assert isinstance(ops, MakeSettings)
    assert ops.token.get_secret_value() == "tok-abcdef"
    assert "tok-abcdef" not in repr(settings) and "tok-abcdef" not in str(ops)


def test_a_missing_env_var_is_named_with_its_key(tmp_path: Path) -> None:
    text = refusal(write(tmp_path, MAKE), {})
    assert "MAKE_TOKEN" in text
    assert "backends.ops.token" in text


def test_a_bad_value_names_the_file_and_the_key_without_the_value(tmp_path: Path) -> None:
    path = write(tmp_path, MAKE.replace("team_id = 123", 'team_id = "secret-ish"'))
    text = refusal(path, {"MAKE_TOKEN": "t"})
    assert str(path) in text and "team_id" in text and "secret-ish" not in text


def test_unknown_keys_and_kinds_are_rejected(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="colour"):
        load_settings(write(tmp_path, "[server]\ncolour = 'blue'\n"), environ={})
    with pytest.raises(ConfigError, match="kind"):
        load_settings(write(tmp_path, "[backends.x]\nkind = 'nope'\n"), environ={})


def test_invalid_toml_is_reported_with_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, "[server\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(path, environ={})


def test_the_local_backend_is_present_unless_disabled(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, MAKE), environ={"MAKE_TOKEN": "t"})
    enabled = settings.enabled_backends()
    assert list(enabled) == ["local", "ops"]
    assert isinstance(enabled["local"], LocalSettings)
    disabled = load_settings(
        write(tmp_path, "[backends.local]\nkind = 'local'\nenabled = false\n"), environ={}
    )
    assert disabled.enabled_backends() == {}


def test_no_file_means_defaults(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("AGENTDECK_CONFIG", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    settings = load_settings(None)
    assert settings.source is None
    assert list(settings.enabled_backends()) == ["local"]


def test_a_named_file_that_does_not_exist_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(tmp_path / "missing.toml", environ={})


def test_defect_17_a_key_typo_names_the_section_and_the_likely_key(tmp_path: Path) -> None:
    path = write(tmp_path, '[backends.local]\nkind = "local"\ndatabse = "x.db"\n')
    text = refusal(path, {})
    assert 'unknown key "databse" in [backends.local]; did you mean "database"?' in text
    assert "Extra inputs" not in text and "backends.local.local" not in text


def test_defect_17_an_unknown_server_key_lists_the_known_ones(tmp_path: Path) -> None:
    text = refusal(write(tmp_path, "[server]\nreadonly = true\n"), {})
    assert 'unknown key "readonly" in [server]; did you mean "read_only"?' in text


def test_defect_17_a_missing_kind_names_the_backend_and_lists_the_kinds(tmp_path: Path) -> None:
    path = write(tmp_path, MAKE.replace('kind = "make"\n', ""))
    text = refusal(path, {"MAKE_TOKEN": "t"})
    assert '[backends.ops] has no "kind"' in text
    assert all(kind in text for kind in ("local", "make", "agenticflow", "agentflow", "roboflow"))
    assert "discriminator" not in text


def test_defect_17_a_misspelt_kind_suggests_the_right_one(tmp_path: Path) -> None:
    path = write(tmp_path, MAKE.replace('kind = "make"', 'kind = "maek"'))
    with pytest.raises(ConfigError, match='did you mean "make"'):
        load_settings(path, environ={"MAKE_TOKEN": "t"})


def test_defect_17_every_missing_env_variable_is_reported_at_once(tmp_path: Path) -> None:
    text = MAKE.replace('"https://eu2.make.com/api/v2"', '"${MAKE_URL}"') + (
        '\n[backends.flow]\nkind = "agentflow"\nbase_url = "https://x"\ntoken = "${FLOW_TOKEN}"\n'
    )
    message = refusal(write(tmp_path, text), {"UNRELATED": "value-123"})
    for name in ("MAKE_TOKEN", "MAKE_URL", "FLOW_TOKEN"):
        assert name in message
    assert "value-123" not in message


def test_defect_17_a_set_variable_is_never_echoed_when_another_is_missing(tmp_path: Path) -> None:
    path = write(tmp_path, MAKE.replace("team_id = 123", 'team_id = "${TEAM}"'))
    text = refusal(path, {"MAKE_TOKEN": "tok-very-secret"})
    assert "TEAM" in text and "tok-very-secret" not in text


@pytest.mark.parametrize(
    ("model", "suggestion"),
    [
        ("ech", "echo"),
        ("Echo", "echo"),
        ("samplng", "sampling"),
        ("opnai", "openai"),
        ("aut", "auto"),
    ],
)
def test_defect_17_a_near_miss_of_a_special_model_is_rejected_at_load(
    tmp_path: Path, model: str, suggestion: str
) -> None:
    path = write(tmp_path, f'[backends.local]\nkind = "local"\nmodel = "{model}"\n')
    text = refusal(path, {})
    assert f'unknown model "{model}"; did you mean "{suggestion}"?' in text


@pytest.mark.parametrize("model", ["echo", "sampling", "openai", "gpt-4o-mini", "llama3.1:8b"])
def test_defect_17_special_and_endpoint_model_names_still_load(tmp_path: Path, model: str) -> None:
    endpoint = 'openai_base_url = "http://127.0.0.1:9/v1"\n'
    path = write(tmp_path, f'[backends.local]\nkind = "local"\nmodel = "{model}"\n{endpoint}')
    local = load_settings(path, environ={}).backends["local"]
    assert isinstance(local, LocalSettings) and local.model == model


def test_problems_in_several_backends_and_the_server_are_reported_at_once(
    tmp_path: Path,
) -> None:
    text = (
        MAKE.replace("team_id = 123", "team_id = 123\nteam = 1")
        + '\n[backends.x]\nkind = "nope"\n[backends.y]\nkind = "local"\ndatabse = "y.db"\n'
        + "[server]\nread_onyl = true\n"
    )
    message = refusal(write(tmp_path, text), {"MAKE_TOKEN": "t"})
    assert 'unknown key "team" in [backends.ops]; did you mean "team_id"?' in message
    assert '[backends.x] has kind "nope"' in message
    assert 'unknown key "databse" in [backends.y]; did you mean "database"?' in message
    assert 'unknown key "read_onyl" in [server]; did you mean "read_only"?' in message


def test_a_file_loads_the_settings_code_of_the_kinds_it_uses_only() -> None:
    """Each backend is validated by its own kind's settings class, imported on demand."""
    code = (
        "import sys\n"
        "from agentdeck.config import parse_settings\n"
        "parse_settings({'backends': {'ops': {'kind': 'make', 'base_url': 'http://x',"
        " 'token': 't', 'team_id': 1}}}, source='t', environ={})\n"
        "print(' '.join(sorted(m for m in sys.modules if m.endswith('.settings'))))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert set(done.stdout.split()) == {
        "agentdeck.backends.settings",
        "agentdeck.backends.local.settings",
        "agentdeck.backends.make.settings",
    }
