"""`omneo-zendesk app package`: the zip Zendesk accepts, and what the package promises."""
from __future__ import annotations

import json
import re
import zipfile

from click.testing import CliRunner

from web.cli import main

ZAF_SDK = "https://static.zdassets.com/zendesk_app_framework_sdk/2.0/zaf_sdk.min.js"


def package(tmp_path, *args):
    out = tmp_path / "app.zip"
    result = CliRunner().invoke(main, ["app", "package", *args, "-o", str(out)])
    return result, out


def test_zip_has_the_manifest_at_its_root_and_everything_it_names(tmp_path):
    result, out = package(tmp_path, "--service-url", "https://oz.example.com/")
    assert result.exit_code == 0, result.output
    with zipfile.ZipFile(out) as archive:
        names = set(archive.namelist())
        manifest = json.loads(archive.read("manifest.json"))
        translations = json.loads(archive.read("translations/en.json"))
        page = archive.read("assets/iframe.html").decode()
    assert {"manifest.json", "translations/en.json", "assets/iframe.html", "assets/sidebar.js",
            "assets/sidebar.css", "assets/logo.png", "assets/logo-small.png"} <= names
    assert manifest["frameworkVersion"] == "2.0" and manifest["defaultLocale"] == "en"
    sidebar = manifest["location"]["support"]["ticket_sidebar"]
    assert sidebar["url"] in names
    assert manifest["domainWhitelist"] == ["oz.example.com"]
    params = {p["name"]: p for p in manifest["parameters"]}
    assert params["shared_secret"]["secure"] is True and params["shared_secret"]["required"] is True
    assert params["service_url"]["default"] == "https://oz.example.com"
    assert set(translations["app"]["parameters"]) == set(params)
    # the page loads its own files and Zendesk's ZAF SDK, nothing else from elsewhere
    external = re.findall(r'(?:src|href)="(https?://[^"]+)"', page)
    assert external == [ZAF_SDK]
    for local in re.findall(r'(?:src|href)="(?!https?://)([^"#]+)"', page):
        assert f"assets/{local}" in names


def test_same_sources_make_the_same_zip(tmp_path):
    _, first = package(tmp_path, "--service-url", "https://oz.example.com")
    data = first.read_bytes()
    _, second = package(tmp_path, "--service-url", "https://oz.example.com")
    assert second.read_bytes() == data


def test_service_url_is_required_and_checked(tmp_path):
    result, out = package(tmp_path)
    assert result.exit_code == 2 and "--service-url" in result.output
    result, out = package(tmp_path, "--service-url", "http://oz.example.com")
    assert result.exit_code == 2 and "https" in result.output
    result, out = package(tmp_path, "--service-url", "oz.example.com")
    assert result.exit_code == 2 and "http(s) URL" in result.output
    assert not out.exists()
