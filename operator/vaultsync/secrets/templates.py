"""Rendering of ``ManagedSecret.spec.kubernetesSecrets[].template`` entries.

Templates are user input that runs next to secret values, so they run in Jinja2's
``SandboxedEnvironment`` with no globals (no ``range``, ``lipsum``, ``cycler``...), no loader (no
``include``/``import`` of files), no ``random`` filter, and only two names: ``secret`` (this secret's
fields) and ``SECRETS`` (the referenced ManagedSecrets by name). Unknown names and fields are errors
that name them; other failures report only their kind, because a Python error message may quote a value.
"""

from __future__ import annotations

from collections.abc import Mapping

import jinja2
from jinja2.sandbox import SandboxedEnvironment

from vaultsync.secrets.content import EXPIRES_AT, SecretContent, format_timestamp
from vaultsync.secrets.errors import TemplateError

TemplateValue = str | list[str]
_REMOVED_FILTERS = ("random",)


class _FieldsView:
    """``secret`` or ``SECRETS.<name>`` inside a template: fields by attribute or by item."""

    __slots__ = ("_label", "_values")

    def __init__(self, label: str, content: SecretContent) -> None:
        values: dict[str, TemplateValue] = {
            name: list(value) if isinstance(value, tuple) else value for name, value in content.fields.items()
        }
        if content.explicit_expires_at is not None:
            values[EXPIRES_AT] = format_timestamp(content.explicit_expires_at)
        self._label = label
        self._values = values

    def __getattr__(self, name: str) -> TemplateValue:
        if name.startswith("_"):  # protocol probes (__html__, __deepcopy__...) are not field lookups
            raise AttributeError(name)
        return self[name]

    def __getitem__(self, name: object) -> TemplateValue:
        if isinstance(name, str) and name in self._values:
            return self._values[name]
        known = ", ".join(sorted(self._values))
        raise TemplateError(f"{self._label}.{name} is not a field of that secret (fields: {known})")


class _SecretsView:
    """``SECRETS`` inside a template: the referenced secrets by name."""

    __slots__ = ("_secrets",)

    def __init__(self, references: Mapping[str, SecretContent]) -> None:
        self._secrets = {
            name: _FieldsView(f"SECRETS.{name}", content) for name, content in references.items()
        }

    def __getattr__(self, name: str) -> _FieldsView:
        if name.startswith("_"):
            raise AttributeError(name)
        return self[name]

    def __getitem__(self, name: object) -> _FieldsView:
        if isinstance(name, str) and name in self._secrets:
            return self._secrets[name]
        known = ", ".join(sorted(self._secrets)) or "none"
        raise TemplateError(f"SECRETS.{name} is not a referenced secret (references: {known})")


def _environment() -> SandboxedEnvironment:
    environment = SandboxedEnvironment(
        undefined=jinja2.StrictUndefined, autoescape=False, keep_trailing_newline=True, loader=None
    )
    environment.globals.clear()
    for name in _REMOVED_FILTERS:
        environment.filters.pop(name, None)
    return environment


_ENVIRONMENT = _environment()


def render_template(
    template: str, secret: SecretContent, references: Mapping[str, SecretContent], key: str = "template"
) -> str:
    """Render one template string; ``key`` (the Secret data key) is named in errors."""
    context = {"secret": _FieldsView("secret", secret), "SECRETS": _SecretsView(references)}
    try:
        return _ENVIRONMENT.from_string(template).render(context)
    except TemplateError as error:
        raise TemplateError(f"template {key!r}: {error}") from None
    except jinja2.TemplateSyntaxError as error:
        problem = f"syntax error on line {error.lineno}: {error.message}"
        raise TemplateError(f"template {key!r}: {problem}") from None
    except jinja2.exceptions.SecurityError:
        raise TemplateError(f"template {key!r}: uses an operation the sandbox forbids") from None
    except jinja2.UndefinedError as error:
        raise TemplateError(f"template {key!r}: {error.message}") from None
    except Exception as error:  # any failure of user code becomes our error, without its text
        raise TemplateError(f"template {key!r}: rendering failed ({type(error).__name__})") from None


def render_templates(
    templates: Mapping[str, str], secret: SecretContent, references: Mapping[str, SecretContent]
) -> dict[str, str]:
    """Render every entry of a ``template`` map (data key -> template string)."""
    return {key: render_template(template, secret, references, key) for key, template in templates.items()}
