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


_UPPER_BITS = str.maketrans({char: "1" if "A" <= char <= "Z" else "0" for char in _BASE62})
_PAIRS = [high + low for high in _BASE62 for low in _BASE62]
_PAIR_UPPER = [int(pair.translate(_UPPER_BITS)[::-1], 2) for pair in _PAIRS]
"""Per pair of base-62 digits, which of its two characters are upper case (bit 0: the first)."""
_PAIR_VALUE = {pair: value for value, pair in enumerate(_PAIRS)}
_LARGEST = 62**_BODY_LENGTH
_HEADS: dict[str, str] = {}


def checksum(id15: str) -> str:
    """The 3-character case-checksum Salesforce appends to a 15-character id."""
    bits = id15.translate(_UPPER_BITS)
    if len(bits) != 15 or bits.strip("01"):  # characters outside base 62 count as not upper case
        bits = "".join("1" if "A" <= char <= "Z" else "0" for char in id15[:15]).ljust(15, "0")
    return (
        _CHECKSUM_ALPHABET[int(bits[4::-1], 2)]
        + _CHECKSUM_ALPHABET[int(bits[9:4:-1], 2)]
        + _CHECKSUM_ALPHABET[int(bits[14:9:-1], 2)]
    )


def make_id(prefix: str, index: int) -> str:
    """The 18-character id of the record number `index` of the object with this key prefix."""
    if index < 0:
        raise ValueError("index must not be negative")
    if index >= _LARGEST:
        raise ValueError("index too large for an id")
    head = _HEADS.get(prefix)
    if head is None:  # the first checksum character covers the prefix and the pod only
        head = _HEADS[prefix] = checksum(prefix + _POD + "0" * _BODY_LENGTH)[0]
    value, fifth = divmod(index, 3844)
    value, fourth = divmod(value, 3844)
    value, third = divmod(value, 3844)
    first, second = divmod(value, 3844)
    pairs, upper, middle = _PAIRS, _PAIR_UPPER, _PAIR_UPPER[third]
    return (
        prefix + _POD + pairs[first] + pairs[second] + pairs[third] + pairs[fourth] + pairs[fifth] + head
        + _CHECKSUM_ALPHABET[upper[first] | upper[second] << 2 | (middle & 1) << 4]
        + _CHECKSUM_ALPHABET[middle >> 1 | upper[fourth] << 1 | upper[fifth] << 3]
    )  # fmt: skip


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
    pair = _PAIR_VALUE
    index = (
        ((pair[full[5:7]] * 3844 + pair[full[7:9]]) * 3844 + pair[full[9:11]]) * 3844 + pair[full[11:13]]
    ) * 3844 + pair[full[13:15]]
    return full[:3], index
