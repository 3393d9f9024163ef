"""Shared test helpers: synthetic contacts only, time always injected."""

from __future__ import annotations

import os
import tempfile
from datetime import date
from pathlib import Path
from typing import Any

from hypothesis import settings

from connector.models import ContactFacts
from tests.dnc_keys import TEST_KEY_HEX

pytest_plugins = ["tests.postgres", "tests.helpers"]

# Commands run by the tests hash numbers with the tests' do-not-call key (the one of tests/dnc_keys.py, so a store
# filled in-process and a command on it agree) and never write a key file in the working directory.
os.environ.setdefault("LAWFUL_CRM_DNC_KEY", TEST_KEY_HEX)
os.environ.setdefault("LAWFUL_CRM_DNC__KEY_FILE", str(Path(tempfile.mkdtemp()) / "lawful-crm.dnc-key"))

settings.register_profile("thorough", max_examples=3000, deadline=None)
settings.register_profile("default", deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

NOW = date(2026, 11, 28)


def facts(**fields: Any) -> ContactFacts:
    """A Dutch business contact from our own web form, named, with overrides: the neutral starting point."""
    base: dict[str, Any] = {
        "id": "t1",
        "country": "NL",
        "entity_type": "business",
        "sources": [{"kind": "web_form_optin"}],
        "email": {"kind": "named_business"},
        "call_target": "company_line_named",
    }
    base.update(fields)
    return ContactFacts.model_validate(base)
