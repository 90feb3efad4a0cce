"""`omneo-zendesk app package`: zip the Zendesk sidebar app (web/zendesk_app/) for upload."""
from __future__ import annotations

import json
import re
import zipfile
from importlib import resources
from pathlib import Path
from urllib.parse import urlsplit

import click

APP_DIR = "zendesk_app"
# fixed timestamps, so the same sources always make the same zip
ZIP_DATE = (2026, 1, 1, 0, 0, 0)
LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1"}
SERVICE_PATH = re.compile(r"(/[A-Za-z0-9._~-]+)*/?")


def check_service_url(url: str) -> str:
    """The service URL (this one's, as Omneo, Zendesk and the sidebar reach it), normalised;
    ValueError saying what is wrong with it. Webhook paths are appended to it, so it has no
    query, fragment, credentials or dot segments that would send them elsewhere."""
    try:
        parts = urlsplit(url.strip())
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        raise ValueError("an http(s) URL such as https://omneo-zendesk.example.com") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("an http(s) URL such as https://omneo-zendesk.example.com")
    if parts.query or parts.fragment or "?" in url or "#" in url or "@" in parts.netloc:
        raise ValueError("a URL without query, fragment or user:password@")
    if not SERVICE_PATH.fullmatch(parts.path) or any(s in (".", "..") for s in parts.path.split("/")):
        raise ValueError("a URL whose path (if any) is plain segments: letters, digits, - . _ ~")
    if parts.scheme == "http" and parts.hostname not in LOCAL_HOSTS:
        raise ValueError("https (Zendesk's proxy sends the shared secret's signature there)")
    return url.strip().rstrip("/")


def app_files() -> dict[str, bytes]:
    """Every file of the app package, by its path inside the zip."""
    root = resources.files("web") / APP_DIR
    found: dict[str, bytes] = {}

    def walk(node, prefix: str) -> None:
        for child in node.iterdir():
            if child.name.startswith(".") or child.name == "__pycache__":
                continue
            name = f"{prefix}{child.name}"
            if child.is_dir():
                walk(child, name + "/")
            else:
                found[name] = child.read_bytes()

    walk(root, "")
    return found


def build_manifest(raw: bytes, service_url: str) -> bytes:
    manifest = json.loads(raw)
    manifest["domainWhitelist"] = [urlsplit(service_url).hostname]
    for parameter in manifest["parameters"]:
        if parameter["name"] == "service_url":
            parameter["default"] = service_url
    return (json.dumps(manifest, indent=2) + "\n").encode()


def package_app(service_url: str, output: Path) -> list[str]:
    """Write the zip Zendesk accepts (manifest.json at its root); return the names written."""
    files = app_files()
    files["manifest.json"] = build_manifest(files["manifest.json"], service_url)
    output.parent.mkdir(parents=True, exist_ok=True)
    names = sorted(files)
    with zipfile.ZipFile(output, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in names:
            info = zipfile.ZipInfo(name, ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, files[name])
    return names


@click.group("app")
def app_group() -> None:
    """The Zendesk sidebar app."""


@app_group.command("package")
@click.option("--service-url", required=True, metavar="URL",
              help="Public URL of this service. Zendesk only signs requests for its domain.")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path),
              default=Path("omneo-zendesk-app.zip"), show_default=True)
def package(service_url: str, output: Path) -> None:
    """Zip the Zendesk sidebar app for upload (Admin Center > Apps > Upload private app)."""
    try:
        service_url = check_service_url(service_url)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--service-url") from None
    names = package_app(service_url, output)
    click.echo(f"wrote {output} ({len(names)} files) for {service_url}")
    click.echo("install it with the shared secret set to this service's ZENDESK_APP_SECRET")
