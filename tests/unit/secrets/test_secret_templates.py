"""Kubernetes Secret templates in the Jinja2 sandbox."""

from __future__ import annotations

import os

import pytest
from hypothesis import given
from hypothesis import strategies as st
from secret_material import PROPERTY

from vaultsync.secrets.content import SecretContent, parse_content
from vaultsync.secrets.errors import TemplateError
from vaultsync.secrets.templates import render_template, render_templates

DB = parse_content(
    "basic-auth", {"username": "app", "password": "pa55-word!", "expiresAt": "2030-01-01T00:00:00Z"}
)
REFERENCES = {
    "api": parse_content("api-key", {"apiKey": "k3y-value", "headerName": "X-Api-Key"}),
    "oauth": parse_content(
        "client-credentials", {"clientId": "cid", "clientSecret": "cs3cret", "scopes": ["a", "b"]}
    ),
    "cfg": parse_content("key-value", {"_private": "under", "host-name": "db.local"}),
}


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        pytest.param("{{ secret.password }}", "pa55-word!", id="attribute"),
        pytest.param("{{ secret['username'] }}", "app", id="item"),
        pytest.param(
            "postgres://{{ secret.username }}:{{ secret.password | urlencode }}@db/app",
            "postgres://app:pa55-word%21@db/app",
            id="url",
        ),
        pytest.param(
            "{{ SECRETS.api.headerName }}: {{ SECRETS.api.apiKey }}", "X-Api-Key: k3y-value", id="reference"
        ),
        pytest.param("{{ SECRETS.oauth.scopes | join(' ') }}", "a b", id="list-field"),
        pytest.param("{{ SECRETS['cfg']['host-name'] }}", "db.local", id="item-with-dash"),
        pytest.param("{{ SECRETS.cfg['_private'] }}", "under", id="underscore-key-by-item"),
        pytest.param("{{ secret.expiresAt }}", "2030-01-01T00:00:00Z", id="expires-at"),
        pytest.param("{{ secret.password | e }}", "pa55-word!", id="escape-filter"),
        pytest.param(
            "{% if secret.username == 'app' %}yes{% endif %}\n", "yes\n", id="trailing-newline-kept"
        ),
    ],
)
def test_rendering(template: str, expected: str) -> None:
    assert render_template(template, DB, REFERENCES) == expected


@pytest.mark.parametrize(
    ("template", "message"),
    [
        pytest.param("{{ secret.pasword }}", "secret.pasword is not a field", id="unknown-field"),
        pytest.param("{{ SECRETS.nope.x }}", "SECRETS.nope is not a referenced secret", id="unknown-name"),
        pytest.param("{{ SECRETS.api.token }}", "SECRETS.api.token is not a field", id="unknown-ref-field"),
        pytest.param("{{ other }}", "'other' is undefined", id="unknown-variable"),
        pytest.param("{{ secret.password.__class__.__mro__ }}", "sandbox", id="dunder"),
        pytest.param("{{ secret._values }}", "sandbox", id="private-attribute"),
        pytest.param("{{ secret.password.__class__ }}", "sandbox", id="class"),
        pytest.param("{{ range(10) | list }}", "'range' is undefined", id="no-globals"),
        pytest.param("{{ lipsum() }}", "'lipsum' is undefined", id="no-lipsum"),
        pytest.param("{% include '/etc/passwd' %}", "rendering failed", id="no-files"),
        pytest.param("{{ [1,2] | random }}", "filter", id="no-random"),
        pytest.param("{{ secret.password", "syntax error on line 1", id="syntax"),
        pytest.param("{{ secret.password + 1 }}", "rendering failed", id="python-error"),
    ],
)
def test_errors_name_the_problem_and_never_the_value(template: str, message: str) -> None:
    with pytest.raises(TemplateError) as caught:
        render_template(template, DB, REFERENCES, key="conn")
    assert message in str(caught.value)
    assert "'conn'" in str(caught.value)
    for secret in ("pa55-word!", "k3y-value", "cs3cret"):
        assert secret not in str(caught.value)


def test_no_access_to_environment() -> None:
    os.environ["VAULTSYNC_TEMPLATE_PROBE"] = "probe-value"
    try:
        for template in (
            "{{ environ }}",
            "{{ os.environ }}",
            "{{ config }}",
            "{{ self.__init__.__globals__ }}",
        ):
            with pytest.raises(TemplateError):
                render_template(template, DB, REFERENCES)
    finally:
        del os.environ["VAULTSYNC_TEMPLATE_PROBE"]


def test_render_templates_renders_every_key() -> None:
    assert render_templates({"user": "{{ secret.username }}", "static": "x"}, DB, {}) == {
        "user": "app",
        "static": "x",
    }


@PROPERTY
@given(
    st.dictionaries(
        st.from_regex(r"[a-zA-Z][a-zA-Z0-9]{0,10}", fullmatch=True),
        st.text(st.characters(exclude_categories=("Cs",)), max_size=20),
        min_size=1,
        max_size=4,
    )
)
def test_every_key_value_field_renders_verbatim(values: dict[str, str]) -> None:
    content: SecretContent = parse_content("key-value", values)
    for key, value in values.items():
        assert render_template("{{ secret." + key + " }}", content, {}) == value
