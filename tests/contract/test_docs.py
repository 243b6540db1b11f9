"""The documentation and demo pages over HTTP: generated from the layer's models, every script served locally."""

from __future__ import annotations

import gzip
import re

import pytest

from aichat.api.openapi import build_spec
from contract.local_api import Client

pytestmark = pytest.mark.dynamodb_local


def test_openapi_json_is_the_layers_document_and_needs_no_token(client: Client) -> None:
    reply = client.call("GET", "/openapi.json")
    assert reply.status == 200 and reply.headers["content-type"] == "application/json"
    assert reply.body == build_spec()


@pytest.mark.parametrize(("page", "marker"), [("/docs", "SwaggerUIBundle"), ("/redoc", "<redoc")])
def test_each_docs_page_loads_its_scripts_and_styles_from_this_server_only(client: Client, page: str,
                                                                           marker: str) -> None:
    reply = client.call("GET", page)
    assert reply.status == 200 and reply.headers["content-type"].startswith("text/html")
    assert marker in reply.text
    assert "://" not in reply.text, "no absolute URL: nothing is fetched from another host"
    links = re.findall(r'(?:src|href)="([^"]+)"', reply.text)
    assert links, "the page loads its bundle"
    for link in links:
        asset = client.call("GET", "/" + link, headers={"Accept-Encoding": "identity"})
        assert asset.status == 200, link
        assert asset.headers["content-type"].startswith(("text/javascript", "text/css")), link
        assert len(asset.raw) > 10_000, f"{link} is the real bundle"


def test_assets_are_gzipped_for_browsers_that_take_gzip(client: Client) -> None:
    plain = client.call("GET", "/docs/assets/swagger-ui.css", headers={"Accept-Encoding": "identity"})
    zipped = client.call("GET", "/docs/assets/swagger-ui.css", headers={"Accept-Encoding": "gzip, br"})
    assert zipped.headers["content-encoding"] == "gzip"
    assert gzip.decompress(zipped.raw) == plain.raw
    assert len(zipped.raw) < len(plain.raw) / 3


def test_an_unknown_asset_is_404_naming_it(client: Client) -> None:
    reply = client.call("GET", "/docs/assets/../../template.yaml")
    assert reply.status == 404
    reply = client.call("GET", "/docs/assets/secrets.txt")
    assert (reply.status, reply.body["code"]) == (404, "asset_not_found")
    assert "secrets.txt" in reply.body["detail"]


def test_the_demo_page_says_what_this_is_links_the_docs_and_shows_how_to_mint_a_token(client: Client) -> None:
    reply = client.call("GET", "/")
    assert reply.status == 200 and reply.headers["content-type"].startswith("text/html")
    assert 'href="docs"' in reply.text and 'href="redoc"' in reply.text
    assert "make token USER=" in reply.text and "python -m localdev.token" in reply.text
