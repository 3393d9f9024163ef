"""Salesforce Outbound Messages: parse the SOAP notification safely and build the exact acknowledgement. Pure.

The XML is parsed with defusedxml and no DTD at all is allowed (SOAP forbids one), so entity expansion
("billion laughs"), external entities and external DTDs are refused before anything is expanded or fetched.
Only ids are taken from a notification: the organisation, each notification's ``Id`` (the de-duplication key),
the sObject type, the record ``Id``, when the admin included them ``LastModifiedById`` (who made the change:
lawful-crm's own writes are dropped as echoes) and ``PartyId`` (the Individual a consent record belongs to). Other field values are ignored; the worker reads the record.
"""

from __future__ import annotations

from dataclasses import dataclass
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

__all__ = [
    "ACK",
    "MAX_NOTIFICATIONS",
    "MalformedMessage",
    "Notification",
    "OutboundMessage",
    "parse_outbound_message",
    "same_org",
]

MAX_NOTIFICATIONS = 100
"""Salesforce sends at most 100 notifications in one message."""

_SOAP = "{http://schemas.xmlsoap.org/soap/envelope/}"
_OUTBOUND = "{http://soap.sforce.com/2005/09/outbound}"
_XSI_TYPE = "{http://www.w3.org/2001/XMLSchema-instance}type"

ACK = (
    b'<?xml version="1.0" encoding="UTF-8"?>'
    b'<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/">'
    b"<soapenv:Body>"
    b'<notificationsResponse xmlns="http://soap.sforce.com/2005/09/outbound"><Ack>true</Ack></notificationsResponse>'
    b"</soapenv:Body>"
    b"</soapenv:Envelope>"
)
"""The acknowledgement Salesforce requires (HTTP 200); anything else makes it deliver the message again."""


class MalformedMessage(Exception):
    """The body is not a usable Outbound Message (answer 400). ``reason`` is a code, never body content."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Notification:
    id: str
    """The notification id: the same on every redelivery, so it is the de-duplication key."""
    sobject: str
    record_id: str
    last_modified_by: str | None = None
    """The user who made the change, when the Outbound Message includes ``LastModifiedById``."""
    party_id: str | None = None
    """The Individual a consent record belongs to, when the Outbound Message includes ``PartyId``."""


@dataclass(frozen=True, slots=True)
class OutboundMessage:
    organization_id: str
    notifications: tuple[Notification, ...]


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _child_text(parent: Element, local_name: str) -> str | None:
    for child in parent:
        if _local(child.tag) == local_name:
            return (child.text or "").strip() or None
    return None


def _parse_xml(body: bytes) -> Element:
    try:
        root: Element = fromstring(body, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException:
        raise MalformedMessage("xml_forbidden") from None
    except (ParseError, ValueError, UnicodeError):
        raise MalformedMessage("xml_malformed") from None
    return root


def _notifications_element(root: Element) -> Element:
    if root.tag != f"{_SOAP}Envelope":
        raise MalformedMessage("not_soap")
    body = root.find(f"{_SOAP}Body")
    found = None if body is None else body.find(f"{_OUTBOUND}notifications")
    if found is None:
        raise MalformedMessage("not_notifications")
    return found


def _sobject_type(sobject: Element) -> str | None:
    declared = sobject.get(_XSI_TYPE, "").rsplit(":", 1)[-1]
    if declared and declared != "sObject":
        return declared
    return _child_text(sobject, "type")  # partner WSDL: <sf:type>Contact</sf:type>


def _notification(element: Element) -> Notification:
    notification_id = _child_text(element, "Id")
    sobject = element.find(f"{_OUTBOUND}sObject")
    if notification_id is None or sobject is None:
        raise MalformedMessage("missing_field")
    sobject_type, record_id = _sobject_type(sobject), _child_text(sobject, "Id")
    if sobject_type is None or record_id is None:
        raise MalformedMessage("missing_field")
    if not _is_salesforce_id(notification_id) or not _is_salesforce_id(record_id):
        raise MalformedMessage("bad_id")
    modified_by, party = _child_text(sobject, "LastModifiedById"), _child_text(sobject, "PartyId")
    if any(value is not None and not _is_salesforce_id(value) for value in (modified_by, party)):
        raise MalformedMessage("bad_id")
    return Notification(
        notification_id, sobject_type, record_id, last_modified_by=modified_by, party_id=party
    )


def _is_salesforce_id(value: str) -> bool:
    return len(value) in (15, 18) and value.isascii() and value.isalnum()


def parse_outbound_message(body: bytes) -> OutboundMessage:
    """The ids in an Outbound Message; raise MalformedMessage for anything unsafe, malformed or incomplete."""
    notifications = _notifications_element(_parse_xml(body))
    organization_id = _child_text(notifications, "OrganizationId")
    if organization_id is None or not _is_salesforce_id(organization_id):
        raise MalformedMessage("missing_field")
    items = notifications.findall(f"{_OUTBOUND}Notification")
    if not items:
        raise MalformedMessage("no_notifications")
    if len(items) > MAX_NOTIFICATIONS:
        raise MalformedMessage("too_many_notifications")
    return OutboundMessage(organization_id, tuple(_notification(item) for item in items))


def same_org(configured: str, received: str) -> bool:
    """Whether two org ids name the same org: the 18-character form only adds a case-checksum suffix."""
    return len(configured) >= 15 and len(received) >= 15 and configured[:15] == received[:15]
