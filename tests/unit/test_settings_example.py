"""The documented example configuration is valid as shipped."""

from __future__ import annotations

from pathlib import Path

from connector.bootstrap import load

EXAMPLE = Path(__file__).resolve().parents[2] / "lawful-crm.toml.example"


def test_the_example_configuration_loads_with_both_crms() -> None:
    settings = load(EXAMPLE)
    assert settings.salesforce is not None and settings.salesforce.auth == "jwt"
    assert settings.hubspot is not None and settings.hubspot.access_token is not None
    assert settings.sync.schedule == "0 2 * * *"


def test_a_broken_configuration_lists_every_problem_and_echoes_no_secret(tmp_path: Path) -> None:
    import pytest

    from connector.errors import ConfigurationError

    bad = tmp_path / "lawful-crm.toml"
    bad.write_text(
        '[salesforce]\nauth = "client_credentials"\nclient_secret = "s3cr3t-value"\nquota_reserve = 2\n'
        '[hubspot]\nper_ten_seconds = 0\n[sync]\nguard_share = "lots"\n',
        encoding="utf-8",
    )
    with pytest.raises(ConfigurationError) as caught:
        load(bad)
    problems = "\n".join(caught.value.problems)
    assert len(caught.value.problems) == 3, problems
    assert "salesforce.quota_reserve" in problems and "sync.guard_share" in problems
    assert "s3cr3t-value" not in problems + str(caught.value)


def test_missing_credentials_name_the_keys_the_chosen_flow_needs(tmp_path: Path) -> None:
    import pytest

    from connector.errors import ConfigurationError

    bad = tmp_path / "lawful-crm.toml"
    bad.write_text(
        '[salesforce]\nauth = "jwt"\nclient_id = "x"\n[hubspot]\nclient_id = "y"\n', encoding="utf-8"
    )
    with pytest.raises(ConfigurationError) as caught:
        load(bad)
    problems = "\n".join(caught.value.problems)
    assert "needs username, private_key_file" in problems
    assert "access_token" in problems
