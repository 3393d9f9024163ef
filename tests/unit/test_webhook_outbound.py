"""Salesforce Outbound Messages: ids parsed from the real envelope shape; unsafe or malformed XML refused."""

from __future__ import annotations

import pytest

from connector.webhooks.outbound import (
    ACK,
    MAX_NOTIFICATIONS,
    MalformedMessage,
    parse_outbound_message,
    same_org,
)
from crm_sandbox.salesforce.outbound import envelope

ORG = "00D7F00000107XsUAI"
CONTACT_ID = "0037F00000AbCdEQAZ"
SOAP_OPEN = (
    '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body>'
    '<notifications xmlns="http://soap.sforce.com/2005/09/outbound">'
)
SOAP_CLOSE = "</notifications></soapenv:Body></soapenv:Envelope>"


def message(notifications: str, org: str = ORG) -> bytes:
    return (SOAP_OPEN + f"<OrganizationId>{org}</OrganizationId>" + notifications + SOAP_CLOSE).encode()


def notification(notification_id: str = "04l7F000008aeAyQAI", record_id: str = CONTACT_ID) -> str:
    return (
        f'<Notification><Id>{notification_id}</Id><sObject xsi:type="sf:Contact" '
        f'xmlns:sf="urn:sobject.enterprise.soap.sforce.com"><sf:Id>{record_id}</sf:Id>'
        "<sf:Email>someone@example.test</sf:Email></sObject></Notification>"
    )


def reason(body: bytes) -> str:
    with pytest.raises(MalformedMessage) as caught:
        parse_outbound_message(body)
    return caught.value.reason


def test_the_sandbox_senders_envelope_yields_org_notification_ids_types_and_record_ids() -> None:
    records = [
        ("Contact", {"Id": CONTACT_ID, "Email": "a@example.test"}),
        ("Lead", {"Id": "00Q7F00000XyZaBQAZ"}),
    ]
    parsed = parse_outbound_message(envelope(records, ["04l000000000001AAA", "04l000000000002AAA"]).encode())
    assert len(parsed.organization_id) == 18
    assert [(n.id, n.sobject, n.record_id) for n in parsed.notifications] == [
        ("04l000000000001AAA", "Contact", CONTACT_ID),
        ("04l000000000002AAA", "Lead", "00Q7F00000XyZaBQAZ"),
    ]


def test_a_partner_wsdl_notification_names_its_type_in_an_element() -> None:
    partner = (
        '<Notification><Id>04l7F000008aeAyQAI</Id><sObject xsi:type="sf:sObject" '
        'xmlns:sf="urn:sobject.partner.soap.sforce.com"><sf:type>Lead</sf:type>'
        "<sf:Id>00Q7F00000XyZaBQAZ</sf:Id></sObject></Notification>"
    )
    (only,) = parse_outbound_message(message(partner)).notifications
    assert (only.sobject, only.record_id) == ("Lead", "00Q7F00000XyZaBQAZ")


BILLION_LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    '<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
    '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">'
    '<!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">]>'
) + message(notification(record_id="&lol4;")).decode()
EXTERNAL_ENTITY = (
    '<?xml version="1.0"?><!DOCTYPE e [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
    + message(notification(record_id="&x;")).decode()
)
EXTERNAL_DTD = (
    '<?xml version="1.0"?><!DOCTYPE e SYSTEM "http://127.0.0.1:9/evil.dtd">'
    + message(notification()).decode()
)


@pytest.mark.parametrize(
    "body",
    [BILLION_LAUGHS, EXTERNAL_ENTITY, EXTERNAL_DTD],
    ids=["billion-laughs", "external-entity", "external-dtd"],
)
def test_entity_expansion_external_entities_and_dtds_are_refused_before_expansion(body: str) -> None:
    assert reason(body.encode()) == "xml_forbidden"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b"", "xml_malformed"),
        (b"<soapenv:Envelope", "xml_malformed"),
        (b"\xff\xfe<not xml>", "xml_malformed"),
        (b"<html><body>hello</body></html>", "not_soap"),
        (
            b'<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body/>'
            b"</soapenv:Envelope>",
            "not_notifications",
        ),
        (message(""), "no_notifications"),
        (message(notification(), org=""), "missing_field"),
        (message(notification(record_id="")), "missing_field"),
        (message(notification(record_id="003'; DROP TABLE")), "bad_id"),
        (message(notification() * (MAX_NOTIFICATIONS + 1)), "too_many_notifications"),
    ],
)
def test_malformed_or_incomplete_messages_are_refused_with_a_reason(body: bytes, expected: str) -> None:
    assert reason(body) == expected


def test_the_ack_is_exactly_what_salesforce_requires() -> None:
    assert ACK == (
        b'<?xml version="1.0" encoding="UTF-8"?>'
        b'<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body>'
        b'<notificationsResponse xmlns="http://soap.sforce.com/2005/09/outbound"><Ack>true</Ack>'
        b"</notificationsResponse></soapenv:Body></soapenv:Envelope>"
    )


def test_org_ids_match_in_15_or_18_character_form_and_case_sensitively() -> None:
    assert same_org("00D7F00000107Xs", ORG)
    assert same_org(ORG, ORG)
    assert not same_org("00D7F00000107XS", ORG)
    assert not same_org("00D7F00000107Xt", ORG)
    assert not same_org("", ORG)
