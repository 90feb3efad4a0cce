"""Each setting is declared once (integration/settings/declared.py's SETTINGS); the schema, the Settings object
and README's settings table follow from that declaration."""
from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from integration.settings.kinds import REQUIRED, markdown_table
from integration.settings.declared import SETTINGS, Settings, SettingsError, SettingsSchema, load_settings
from tests.helpers import GOOD


README = Path(__file__).resolve().parents[2] / "README.md"
WITH_VALUE = [s for s in SETTINGS if s.default is not None and s.default is not REQUIRED]


def readme_settings_table() -> str:
    text = README.read_text()
    start = text.index("| variable | meaning | default |", text.index("\n## Settings\n"))
    return text[start:text.index("\n\n", start) + 1]


def test_readme_table_is_the_one_the_declarations_make():
    expected = markdown_table(SETTINGS)
    assert readme_settings_table() == expected, (
        "README.md's settings table differs from integration/settings/declared.py's declarations; replace it with "
        "the output of `python3 -m integration.settings`:\n" + expected)


def test_each_variable_is_declared_once_and_is_one_schema_field_and_one_attribute():
    names = [s.env for s in SETTINGS]
    assert len(names) == len(set(names))
    assert list(SettingsSchema._declared_fields) == names
    attributes = [f.name for f in dataclasses.fields(Settings)]
    assert attributes == [s.attr for s in SETTINGS if s.keep]
    assert [s.env for s in SETTINGS if not s.keep] == ["ZENDESK_SUBDOMAIN"]  # only read to derive the URL


def test_secrets_are_kept_out_of_repr_and_only_they():
    hidden = {f.name for f in dataclasses.fields(Settings) if not f.repr}
    assert hidden == {s.attr for s in SETTINGS if s.secret}
    assert {"redis_url", "omneo_api_token", "zendesk_app_secret", "metrics_token"} <= hidden


@pytest.mark.parametrize("setting", [s for s in SETTINGS if s.secret], ids=lambda s: s.env)
def test_a_malformed_secret_is_named_but_never_shown(setting):
    value = "s3cr3t!"  # too short or malformed for every secret that is checked at all
    try:
        settings = load_settings(dict(GOOD, **{setting.env: value}))
    except SettingsError as exc:
        assert setting.env in str(exc) and value not in str(exc)
    else:
        assert getattr(settings, setting.attr) == value and value not in repr(settings)


@pytest.mark.parametrize("setting", WITH_VALUE, ids=lambda s: s.env)
def test_the_default_readme_shows_is_the_default_loaded(setting):
    shown = setting.kind.show(setting.default)
    assert getattr(load_settings(GOOD), setting.attr) == setting.default
    assert getattr(load_settings(dict(GOOD, **{setting.env: shown})), setting.attr) == setting.default


@pytest.mark.parametrize("setting", [s for s in SETTINGS if s.default is REQUIRED], ids=lambda s: s.env)
def test_a_required_setting_says_what_it_wants_when_missing(setting):
    with pytest.raises(SettingsError) as err:
        load_settings({k: v for k, v in GOOD.items() if k != setting.env})
    assert str(err.value) == f"setting {setting.env}: {setting.missing}"
