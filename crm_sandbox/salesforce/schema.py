"""The emulated org's schema: objects, fields, picklists, relationships, and custom fields added at run time.

Field names are case-insensitive in SOQL and in writes, as in a real org; `ObjectSpec.field()` resolves any
casing to the canonical spec. Custom fields created through the Tooling API start without field-level security
(`fls_managed`), so the FLS check in `store` hides them until a permission set grants them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

LEAD_SOURCES = (
    "Web", "Phone Inquiry", "Partner Referral", "Purchased List", "Other",
    "LinkedIn", "Trade Show", "KvK", "Supplier", "Webinar", "Whitepaper",
)  # fmt: skip
ACCOUNT_TYPES = (
    "Prospect", "Customer", "Customer - Direct", "Customer - Channel", "Channel Partner / Reseller",
    "Partner", "Installation Partner", "Technology Partner", "Supplier", "Vendor", "Other",
)  # fmt: skip
LEAD_STATUSES = (
    "Open - Not Contacted",
    "Working - Contacted",
    "Closed - Converted",
    "Closed - Not Converted",
)
CONTACT_POINT_TYPES = ("Email", "MailingAddress", "Phone", "Social", "Web")
CONSENT_STATUSES = ("OptIn", "OptOut", "Seen", "NotSeen")
STAGES = (
    "Prospecting",
    "Qualification",
    "Proposal/Price Quote",
    "Negotiation/Review",
    "Closed Won",
    "Closed Lost",
)

_SOAP_TYPES = {
    "id": "tns:ID", "reference": "tns:ID", "boolean": "xsd:boolean", "string": "xsd:string",
    "textarea": "xsd:string", "email": "xsd:string", "phone": "xsd:string", "picklist": "xsd:string",
    "date": "xsd:date", "datetime": "xsd:dateTime", "currency": "xsd:double", "double": "xsd:double",
    "url": "xsd:string", "address": "urn:address",
}  # fmt: skip


@dataclass(slots=True)
class FieldSpec:
    """One field as describe reports it, plus what the emulator needs to validate writes."""

    name: str
    type: str
    label: str = ""
    length: int = 0
    updateable: bool = True
    nillable: bool = True
    custom: bool = False
    picklist: tuple[str, ...] = ()
    restricted: bool = False
    reference_to: str | None = None
    relationship_name: str | None = None
    fls_managed: bool = False
    default: Any = None

    def describe(self, *, updateable: bool = True) -> dict[str, Any]:
        """The field's entry in `fields` of an sobject describe."""
        return {
            "name": self.name, "label": self.label or self.name, "type": self.type,
            "soapType": _SOAP_TYPES.get(self.type, "xsd:string"), "length": self.length,
            "nillable": self.nillable, "defaultValue": self.default,
            "defaultedOnCreate": self.type == "boolean", "updateable": self.updateable and updateable,
            "createable": self.updateable and updateable, "custom": self.custom, "calculated": False,
            "filterable": True, "sortable": self.type != "textarea",
            "restrictedPicklist": self.restricted, "unique": False, "externalId": False,
            "picklistValues": [
                {"active": True, "defaultValue": False, "label": value, "value": value, "validFor": None}
                for value in self.picklist
            ],
            "referenceTo": [self.reference_to] if self.reference_to else [],
            "relationshipName": self.relationship_name,
        }  # fmt: skip


@dataclass(slots=True)
class ObjectSpec:
    """One sobject: its key prefix, its fields by lower-cased name, and its parent relationships."""

    name: str
    key_prefix: str
    label: str
    fields: dict[str, FieldSpec] = field(default_factory=dict)
    tooling: bool = False

    def add(self, spec: FieldSpec) -> FieldSpec:
        """Register a field (replacing one of the same name)."""
        self.fields[spec.name.lower()] = spec
        return spec

    def field(self, name: str) -> FieldSpec | None:
        """The field of that name in any casing, or None."""
        return self.fields.get(name.lower())

    def relationship(self, name: str) -> FieldSpec | None:
        """The reference field whose relationship name is `name` (any casing), e.g. Account -> AccountId."""
        lowered = name.lower()
        for spec in self.fields.values():
            if spec.relationship_name and spec.relationship_name.lower() == lowered:
                return spec
        return None


def _f(name: str, type_: str, label: str = "", **kw: Any) -> FieldSpec:
    return FieldSpec(name, type_, label or name, **kw)


def _system_fields() -> list[FieldSpec]:
    return [
        _f("Id", "id", "Record ID", length=18, updateable=False, nillable=False),
        _f("IsDeleted", "boolean", "Deleted", updateable=False, nillable=False, default=False),
        _f("CreatedDate", "datetime", "Created Date", updateable=False, nillable=False),
        _f("LastModifiedDate", "datetime", "Last Modified Date", updateable=False, nillable=False),
        _f("SystemModstamp", "datetime", "System Modstamp", updateable=False, nillable=False),
        _f("LastModifiedById", "reference", "Last Modified By ID", length=18, reference_to="User",
           updateable=False, nillable=True),
    ]  # fmt: skip


def _person_fields(*, lead: bool) -> list[FieldSpec]:
    specs = [
        _f("FirstName", "string", "First Name", length=40),
        _f("LastName", "string", "Last Name", length=80, nillable=False),
        _f("Name", "string", "Full Name", length=121, updateable=False),
        _f("Title", "string", length=128),
        _f("Email", "email", length=80),
        _f("Phone", "phone", length=40),
        _f("MobilePhone", "phone", "Mobile Phone", length=40),
        _f("LeadSource", "picklist", "Lead Source", length=255, picklist=LEAD_SOURCES),
        _f("HasOptedOutOfEmail", "boolean", "Email Opt Out", nillable=False, default=False),
        _f("HasOptedOutOfFax", "boolean", "Fax Opt Out", nillable=False, default=False),
        _f("DoNotCall", "boolean", "Do Not Call", nillable=False, default=False),
        _f("IndividualId", "reference", "Individual ID", length=18, reference_to="Individual",
           relationship_name="Individual"),
        _f("Lead_Source_Detail__c", "string", "Lead Source Detail", length=255, custom=True),
        _f("Lead_Source_Date__c", "date", "Lead Source Date", custom=True),
        _f("Email_Opt_In_Date__c", "date", "Email Opt-In Date", custom=True),
        _f("Phone_Opt_In_Date__c", "date", "Phone Opt-In Date", custom=True),
    ]  # fmt: skip
    if lead:
        specs += [
            _f("Company", "string", length=255),
            _f("Country", "string", length=80),
            _f("Status", "picklist", "Lead Status", length=255, picklist=LEAD_STATUSES, nillable=False),
            _f("IsConverted", "boolean", "Converted", updateable=False, nillable=False, default=False),
            _f("ConvertedDate", "date", "Converted Date", updateable=False),
            _f("ConvertedContactId", "reference", "Converted Contact ID", length=18, updateable=False,
               reference_to="Contact", relationship_name="ConvertedContact"),
            _f("ConvertedAccountId", "reference", "Converted Account ID", length=18, updateable=False,
               reference_to="Account", relationship_name="ConvertedAccount"),
        ]  # fmt: skip
    else:
        specs += [
            _f(
                "AccountId",
                "reference",
                "Account ID",
                length=18,
                reference_to="Account",
                relationship_name="Account",
            ),
            _f("HomePhone", "phone", "Home Phone", length=40),
            _f("OtherPhone", "phone", "Other Phone", length=40),
            _f("MailingStreet", "textarea", "Mailing Street", length=255),
            _f("MailingCity", "string", "Mailing City", length=40),
            _f("MailingState", "string", "Mailing State/Province", length=80),
            _f("MailingPostalCode", "string", "Mailing Zip/Postal Code", length=20),
            _f("MailingCountry", "string", "Mailing Country", length=80),
            _f("MailingAddress", "address", "Mailing Address", updateable=False),
        ]
    return specs


def _consent_fields() -> list[FieldSpec]:
    """ContactPointTypeConsent (API 45+, Data Protection and Privacy): one channel's consent of one Individual
    for one data use purpose; the picklists are restricted, as in a real org."""
    return [
        _f("Name", "string", "Name", length=255, nillable=False),
        _f("PartyId", "reference", "Party ID", length=18, reference_to="Individual", relationship_name="Party"),
        _f("ContactPointType", "picklist", "Contact Point Type", length=255, picklist=CONTACT_POINT_TYPES,
           restricted=True),
        _f("PrivacyConsentStatus", "picklist", "Privacy Consent Status", length=255, picklist=CONSENT_STATUSES,
           restricted=True),
        _f("DataUsePurposeId", "reference", "Data Use Purpose ID", length=18, reference_to="DataUsePurpose",
           relationship_name="DataUsePurpose"),
        _f("EffectiveFrom", "datetime", "Effective From"),
        _f("EffectiveTo", "datetime", "Effective To"),
        _f("CaptureDate", "datetime", "Capture Date"),
        _f("CaptureSource", "string", "Capture Source", length=255),
        _f("CaptureContactPointType", "picklist", "Capture Contact Point Type", length=255,
           picklist=CONTACT_POINT_TYPES, restricted=True),
        _f("DoubleConsentCaptureDate", "datetime", "Double Consent Capture Date"),
    ]  # fmt: skip


def build_schema() -> dict[str, ObjectSpec]:
    """A fresh schema of the seeded org (lower-cased object name -> spec)."""
    objects = [
        ObjectSpec("Contact", "003", "Contact", tooling=False),
        ObjectSpec("Lead", "00Q", "Lead"),
        ObjectSpec("Account", "001", "Account"),
        ObjectSpec("Opportunity", "006", "Opportunity"),
        ObjectSpec("Individual", "0PK", "Individual"),
        ObjectSpec("ContactPointTypeConsent", "0ZY", "Contact Point Type Consent"),
        ObjectSpec("DataUsePurpose", "0ZW", "Data Use Purpose"),
        ObjectSpec("User", "005", "User"),
        ObjectSpec("PermissionSet", "0PS", "Permission Set"),
        ObjectSpec("FieldPermissions", "01k", "Field Permissions"),
        ObjectSpec("PermissionSetAssignment", "0Pa", "Permission Set Assignment"),
        ObjectSpec("CustomField", "00N", "Custom Field", tooling=True),
        ObjectSpec("ListView", "00B", "List View"),
    ]
    by_name = {spec.name: spec for spec in objects}
    extra: dict[str, list[FieldSpec]] = {
        "Contact": _person_fields(lead=False),
        "Lead": _person_fields(lead=True),
        "Account": [
            _f("Name", "string", "Account Name", length=255, nillable=False),
            _f("Type", "picklist", "Account Type", length=255, picklist=ACCOUNT_TYPES),
            _f("BillingCountry", "string", "Billing Country", length=80),
            _f("Phone", "phone", "Account Phone", length=40),
            _f("Website", "url", length=255),
            _f("Legal_Form__c", "string", "Legal Form", length=80, custom=True),
        ],
        "Opportunity": [
            _f("Name", "string", "Name", length=120, nillable=False),
            _f(
                "AccountId",
                "reference",
                "Account ID",
                length=18,
                reference_to="Account",
                relationship_name="Account",
            ),
            _f(
                "ContactId",
                "reference",
                "Contact ID",
                length=18,
                reference_to="Contact",
                relationship_name="Contact",
            ),
            _f("StageName", "picklist", "Stage", length=255, picklist=STAGES, nillable=False),
            _f("IsWon", "boolean", "Won", updateable=False, nillable=False, default=False),
            _f("IsClosed", "boolean", "Closed", updateable=False, nillable=False, default=False),
            _f("CloseDate", "date", "Close Date", nillable=False),
            _f("Amount", "currency", "Amount"),
            _f("LeadSource", "picklist", "Lead Source", length=255, picklist=LEAD_SOURCES),
        ],
        "Individual": [
            _f("FirstName", "string", "First Name", length=40),
            _f("LastName", "string", "Last Name", length=80, nillable=False),
            _f("BirthDate", "date", "Birth Date"),
            *[
                _f(name, "boolean", label, nillable=False, default=False)
                for name, label in (
                    ("HasOptedOutSolicit", "Don't Market"),
                    ("HasOptedOutTracking", "Don't Track"),
                    ("HasOptedOutProcessing", "Don't Process"),
                    ("HasOptedOutProfiling", "Don't Profile"),
                    ("HasOptedOutGeoTracking", "Don't Track Location"),
                    ("ShouldForget", "Forget this Individual"),
                    ("SendIndividualData", "Export Individual's Data"),
                    ("CanStorePiiElsewhere", "OK to Store PII Data Elsewhere"),
                )
            ],
        ],
        "ContactPointTypeConsent": _consent_fields(),
        "DataUsePurpose": [
            _f("Name", "string", "Name", length=80, nillable=False),
            _f("Description", "textarea", "Description", length=1000),
            _f("CanDataSubjectOptOut", "boolean", "Can Data Subject Opt Out", nillable=False, default=False),
        ],
        "ListView": [
            _f("Name", "string", "View Name", length=40, updateable=False, nillable=False),
            _f("DeveloperName", "string", "View Unique Name", length=40, updateable=False, nillable=False),
            _f("SobjectType", "picklist", "Sobject Type", length=40, updateable=False),
            _f("NamespacePrefix", "string", "Namespace Prefix", length=15, updateable=False),
        ],
        "User": [
            _f("Username", "string", length=80, nillable=False),
            _f("Name", "string", "Full Name", length=121, updateable=False),
            _f("IsActive", "boolean", "Active", nillable=False, default=True),
        ],
        "PermissionSet": [
            _f("Name", "string", length=80, nillable=False),
            _f("Label", "string", length=80, nillable=False),
            _f("Description", "string", length=255),
        ],
        "FieldPermissions": [
            _f(
                "ParentId",
                "reference",
                "Parent ID",
                length=18,
                reference_to="PermissionSet",
                relationship_name="Parent",
            ),
            _f("SobjectType", "string", "Sobject Type", length=40, nillable=False),
            _f("Field", "string", "Field Name", length=80, nillable=False),
            _f("PermissionsRead", "boolean", "Read Access", nillable=False, default=False),
            _f("PermissionsEdit", "boolean", "Edit Access", nillable=False, default=False),
        ],
        "PermissionSetAssignment": [
            _f(
                "AssigneeId",
                "reference",
                "Assignee ID",
                length=18,
                reference_to="User",
                relationship_name="Assignee",
            ),
            _f(
                "PermissionSetId",
                "reference",
                "Permission Set ID",
                length=18,
                reference_to="PermissionSet",
                relationship_name="PermissionSet",
            ),
        ],
        "CustomField": [
            _f("DeveloperName", "string", "Developer Name", length=40, updateable=False),
            _f("TableEnumOrId", "string", "Table Enum or ID", length=40, updateable=False),
            _f("NamespacePrefix", "string", "Namespace Prefix", length=15, updateable=False),
            _f("FullName", "string", "Full Name", length=255, updateable=False),
        ],
    }
    for name, specs in extra.items():
        for spec in [*_system_fields(), *specs]:
            by_name[name].add(spec)
    return {name.lower(): spec for name, spec in by_name.items()}
