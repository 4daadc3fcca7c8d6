"""The OpenAPI document the portal serves, and its docs page, which loads nothing from a CDN."""

import json
import re

from django.conf import settings
from django.contrib.staticfiles import finders
from openapi_spec_validator import validate

from tests.support.api_fixtures import API_PATHS, TOP_PATHS


def test_the_openapi_document_is_valid_json_listing_every_path(client, db):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    document = json.loads(response.content)
    validate(document)
    assert set(document["paths"]) == {*TOP_PATHS, *API_PATHS}
    for path, operations in document["paths"].items():
        assert set(operations) == {"get"}, path  # read-only
        assert operations["get"]["security"] == [{"PersonalToken": []}], path
    assert document["components"]["securitySchemes"]["PersonalToken"] == {"type": "http", "scheme": "bearer"}
    spend = document["paths"]["/api/v1/accounts/{account_id}/spend"]["get"]
    assert {p["name"] for p in spend["parameters"]} >= {
        "account_id",
        "range",
        "start",
        "end",
        "gateway",
        "by",
    }


def test_the_docs_page_loads_its_assets_from_the_portal_only(client, db):
    response = client.get("/api/v1/docs")
    assert response.status_code == 200
    html = response.content.decode()
    sources = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert any(source.endswith("swagger-ui-bundle.js") for source in sources)
    assert all(source.startswith("/") for source in sources), sources
    for source in sources:  # each a static file of the portal's (collectstatic gathers it)
        assert finders.find(source.removeprefix(settings.STATIC_URL).lstrip("/")), source
