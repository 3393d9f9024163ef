"""Real-shaped Salesforce record ids: key prefix, pod, 10 base-62 characters and the case checksum.

Seeded records are never stored: an id encodes its object's key prefix and the record's index, so the emulator
can render any record on demand from `people.person(seed, index)`.
"""

from __future__ import annotations

_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_CHECKSUM_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
_POD = "Sb"  # a fixed instance/pod segment, as in real ids ("003RO0000035WQgYAM")
_BODY_LENGTH = 10

KEY_PREFIXES: dict[str, str] = {
    "Account": "001",
    "Contact": "003",
    "User": "005",
    "Opportunity": "006",
    "Organization": "00D",
    "CustomField": "00N",
    "Lead": "00Q",
    "FieldPermissions": "01k",
    "Individual": "0PK",
    "PermissionSet": "0PS",
    "PermissionSetAssignment": "0Pa",
    "QueryLocator": "01g",
    "Job": "750",
    "OutboundMessage": "04k",
    "Notification": "04l",
}
OBJECT_BY_PREFIX: dict[str, str] = {prefix: name for name, prefix in KEY_PREFIXES.items()}


def checksum(id15: str) -> str:
    """The 3-character case-checksum Salesforce appends to a 15-character id."""
    suffix = ""
    for chunk in range(3):
        bits = 0
        for position, char in enumerate(id15[chunk * 5 : chunk * 5 + 5]):
            if "A" <= char <= "Z":
                bits |= 1 << position
        suffix += _CHECKSUM_ALPHABET[bits]
    return suffix


def make_id(prefix: str, index: int) -> str:
    """The 18-character id of the record number `index` of the object with this key prefix."""
    if index < 0:
        raise ValueError("index must not be negative")
    body = ""
    value = index
    for _ in range(_BODY_LENGTH):
        value, digit = divmod(value, 62)
        body = _BASE62[digit] + body
    if value:
        raise ValueError("index too large for an id")
    id15 = prefix + _POD + body
    return id15 + checksum(id15)


def normalize_id(value: str) -> str | None:
    """The 18-character form of a 15- or 18-character id, or None when it is malformed."""
    if len(value) not in (15, 18) or not value.isalnum() or not value.isascii():
        return None
    id15 = value[:15]
    full = id15 + checksum(id15)
    if len(value) == 18 and value[15:].upper() != full[15:]:
        return None
    return full


def parse_id(value: str) -> tuple[str, int] | None:
    """The (key prefix, index) an id encodes, or None when it is malformed or not one of ours."""
    full = normalize_id(value)
    if full is None:
        return None
    if full[3:5] != _POD:
        return None
    index = 0
    for char in full[5:15]:
        index = index * 62 + _BASE62.index(char)
    return full[:3], index
