"""The payloads of the transparency exports: the art. 27 table as JSON, and the 360Giving
data package (its field names are the standard's, camelCase)."""

from decimal import Decimal
from typing import Annotated

from pydantic import ConfigDict, Field, PlainSerializer, WithJsonSchema

from bando.core.schemas import Cents, Day, Moment, Out

# The 360Giving standard wants the amount as a JSON number: exact euro (a Decimal) become
# a number only here, when the document is written.
EuroNumber = Annotated[
    Decimal,
    PlainSerializer(lambda value: int(value) if value == value.to_integral() else float(value)),
    WithJsonSchema({"type": "number", "examples": [16000, 1500.5]}),
]


class Art27Grant(Out):
    """One grant with the fields of D.Lgs. 33/2013 art. 27."""

    bando: str
    protocollo: str
    beneficiario: str
    codice_fiscale: str | None = Field(
        description="the organisation's codice fiscale; null for a natural person (privacy)"
    )
    importo: Cents = Field(
        description="the amount granted, or the final contribution once the report is approved"
    )
    importo_erogato: Cents = Field(description="paid so far, net of recoveries")
    data_concessione: Day
    norma_titolo_attribuzione: str
    ufficio: str
    responsabile_procedimento: str
    modalita_individuazione: str
    progetto: str
    quartiere: str
    link_progetto: str = Field(description="the project's public page")


class Art27Out(Out):
    edition: str
    title: str
    generated_at: Moment
    count: int
    total: Cents
    grants: list[Art27Grant]


class GivingOrganization(Out):
    id: str = Field(examples=["IT-CF-01199250158"])
    name: str


class GivingProgramme(Out):
    code: str
    title: str
    url: str


class GivingDates(Out):
    startDate: str
    endDate: str


class GivingLocation(Out):
    name: str
    countryCode: str


class GivingGrant(Out):
    model_config = ConfigDict(populate_by_name=True, from_attributes=True)

    id: str
    title: str
    description: str
    currency: str = Field(examples=["EUR"])
    amountAwarded: EuroNumber
    awardDate: str = Field(examples=["2019-06-15"])
    recipientOrganization: list[GivingOrganization]
    fundingOrganization: list[GivingOrganization]
    grantProgramme: list[GivingProgramme]
    url: str
    dateModified: str
    plannedDates: list[GivingDates] | None = None
    beneficiaryLocation: list[GivingLocation] | None = None


class GivingPublisher(Out):
    identifier: str
    name: str


class GivingPackage(Out):
    """A 360Giving data package (https://standard.threesixtygiving.org)."""

    grants: list[GivingGrant]
    version: str
    title: str
    description: str
    identifier: str
    issued: str
    modified: str
    publisher: GivingPublisher
    license: str
