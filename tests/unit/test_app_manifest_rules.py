"""The Zendesk app's manifest and translations against the rules Zendesk's validator applies
(`zcli apps:validate` is not available here). The rules, as zendesk_apps_support's
Validations::Manifest and Validations::Translations and Zendesk's "Create content" page state them:
- manifest: `author` (name, email, url as strings) and `defaultLocale` are required; a located app
  needs `location` and `frameworkVersion`; parameter names are unique and not `name`; a
  parameter's type is one Zendesk knows; `required`/`secure` are booleans; a hidden parameter
  cannot be required; a relative location URL starts with `assets/` and names a file of the app;
- translations: each `translations/<locale>.json` is named by a valid locale (`xx` or `xx-YY`),
  is a JSON object, and the default locale has a file; `en.json` has `app.name` (a private app),
  and name, short_description, long_description and installation_instructions to be listed.
Our own on top: every parameter has a label in every locale, every locale has every key of the
default one, and the page's own strings (assets/locales) are complete in every language."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

APP = Path(__file__).resolve().parents[2] / "web" / "zendesk_app"
VALID_LOCALE = re.compile(r"^[a-z]{2}(-\w{2,3})?$")
PARAMETER_TYPES = {"text", "password", "checkbox", "url", "number", "multiline", "hidden", "oauth"}
LISTING_KEYS = {"name", "short_description", "long_description", "installation_instructions"}


def manifest() -> dict:
    return json.loads((APP / "manifest.json").read_text())


def translations() -> dict[str, dict]:
    return {p.stem: json.loads(p.read_text()) for p in sorted((APP / "translations").glob("*.json"))}


def flat(tree: dict, prefix: str = "") -> dict[str, object]:
    out = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            out.update(flat(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def test_manifest_has_what_zendesk_requires():
    m = manifest()
    for key in ("author", "defaultLocale", "location", "frameworkVersion", "version", "name"):
        assert key in m, key
    assert all(isinstance(m["author"].get(k), str) and m["author"][k] for k in ("name", "email", "url"))
    assert re.match(r"^https?://", m["author"]["url"])
    assert VALID_LOCALE.match(m["defaultLocale"])
    assert m["frameworkVersion"] == "2.0"
    assert isinstance(m["private"], bool)
    assert isinstance(m.get("domainWhitelist", []), list)


def test_locations_point_at_files_of_the_app():
    for product, places in manifest()["location"].items():
        for place, spec in places.items():
            url = spec["url"] if isinstance(spec, dict) else spec
            assert url.startswith("assets/") and (APP / url).is_file(), (product, place, url)
            if isinstance(spec, dict) and "flexible" in spec:
                assert isinstance(spec["flexible"], bool)


def test_parameters_follow_the_rules():
    params = manifest()["parameters"]
    names = [p["name"] for p in params]
    assert len(names) == len(set(names)) and "name" not in names
    for p in params:
        assert p["type"] in PARAMETER_TYPES, p
        assert isinstance(p.get("required", False), bool) and isinstance(p.get("secure", False), bool)
        assert not (p["type"] == "hidden" and p.get("required")), p
        assert not (p["type"] == "oauth" and p.get("secure")), p


def test_translation_files_are_valid_locales_and_json_objects():
    found = translations()
    assert manifest()["defaultLocale"] in found
    assert len(found) >= 2, "English and at least one more language"
    for locale, body in found.items():
        assert VALID_LOCALE.match(locale), locale
        assert isinstance(body, dict) and isinstance(body.get("app"), dict), locale


def test_english_has_the_listing_keys():
    app = translations()["en"]["app"]
    assert LISTING_KEYS <= set(app)
    assert all(isinstance(app[k], str) and app[k].strip() for k in LISTING_KEYS)
    assert len(app["name"]) <= 40  # the Marketplace's limit


@pytest.mark.parametrize("locale", sorted(translations()))
def test_every_parameter_is_translated_and_every_key_is_there(locale):
    default = flat(translations()[manifest()["defaultLocale"]])
    mine = flat(translations()[locale])
    for p in manifest()["parameters"]:
        label = mine.get(f"app.parameters.{p['name']}.label")
        assert isinstance(label, str) and label.strip(), f"{locale}: no label for {p['name']}"
    assert set(mine) == set(default), f"{locale}: keys differ from the default locale's"
    assert all(isinstance(v, str) and v.strip() for v in mine.values())


def test_the_pages_own_strings_are_complete_in_every_language():
    files = {p.stem: json.loads(p.read_text()) for p in (APP / "assets" / "locales").glob("*.json")}
    script = (APP / "assets" / "i18n.js").read_text()
    listed = json.loads(re.search(r"AVAILABLE = (\[.*?\]);", script).group(1).replace("'", '"'))
    assert sorted(listed) == sorted(files) and "en" in files and len(files) >= 2
    # the manifest's languages and the page's are the same ones
    assert {k.split("-")[0] for k in translations()} == set(files)
    english = flat(files["en"])
    used = set(re.findall(r'data-i18n(?:-label)?="([a-z_]+)"', (APP / "assets" / "iframe.html").read_text()))
    used |= set(re.findall(r"""t\.(?:t|count)\('([a-z_]+)'""", (APP / "assets" / "sidebar.js").read_text()))
    used |= set(re.findall(r"""this\.t\('([a-z_]+)'""", script))
    assert used <= {k.split(".")[0] for k in english}, used - set(english)
    for language, strings in files.items():
        assert set(flat(strings)) == set(english), language
        for key, text in flat(strings).items():
            assert isinstance(text, str) and text.strip(), (language, key)
            # placeholders survive translation
            assert set(re.findall(r"\{\w+\}", text)) == set(re.findall(r"\{\w+\}", english[key])), (language, key)


def test_secure_settings_declare_their_scopes():
    """Zendesk's validator warns (since December 2025) about a secure setting without `scopes`;
    the shared secret only ever keys the sidebar's JWT, so Zendesk may refuse it anywhere else."""
    secure = {p["name"]: p for p in manifest()["parameters"] if p.get("secure")}
    assert all(isinstance(p.get("scopes"), list) and p["scopes"] for p in secure.values()), secure
    assert secure["shared_secret"]["scopes"] == ["jwt_secret_key"]
