"""Archive providers: the flat, camelCase rows behind `GET /Person`, `/Contact`, `/Product`,
`/Sale` and `GET /Archive/{provider}`.

Decides which columns each provider offers (names from docs/en/api/archive-providers/reference),
how they are computed from the stored carriers, and how a page is cut ($top/$skip, nextLink).
SQL is assembled only from this module's constants plus the parameters odata.py binds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from .errors import BadRequestError, NotFoundError
from .odata import Column, filter_to_sql, parse_orderby, parse_select
from .store import Store

__all__ = ["MAX_TOP", "PROVIDERS", "ArchiveQuery", "Provider", "query_archive"]

MAX_TOP = 10000  # Sesam pages with $top=10000 in production; the real maximum is not documented.


def _json(alias: str, path: str) -> str:
    return f"json_extract({alias}.body, '$.{path}')"


def _text(alias: str, path: str) -> Column:
    return Column(_json(alias, path), "string")


def _udefs(alias: str, prefix: str, count: int) -> dict[str, Column]:
    return {
        f"{prefix}/SuperOffice:{n}": Column(
            _json(alias, f'CustomFields."SuperOffice:{n}"'), "string"
        )
        for n in range(1, count + 1)
    }


def _address(alias: str, prefix: str, part: str) -> dict[str, Column]:
    names = {"line1": "Address1", "line2": "Address2", "line3": "Address3", "city": "City",
             "zip": "Zipcode", "county": "County", "state": "State"}  # fmt: skip
    return {f"{prefix}/{k}": _text(alias, f"Address.{part}.{v}") for k, v in names.items()}


def _contact_columns(c: str) -> dict[str, Column]:
    return {
        "contactId": Column(f"{c}.id", "int"),
        "name": _text(c, "Name"),
        "department": _text(c, "Department"),
        "orgnr": _text(c, "OrgNr"),
        "number1": _text(c, "Number1"),
        "number2": _text(c, "Number2"),
        "updatedDate": Column(f"{c}.updated", "datetime"),
        "registeredDate": Column(f"{c}.created", "datetime"),
        "deletedDate": Column(f"{c}.deleted", "datetime", orderable=False),
        "code": _text(c, "Number1"),
        "number": _text(c, "Number2"),
        "category": Column(_json(c, "Category.Value"), "int", restriction=_json(c, "Category.Id")),
        "business": Column(_json(c, "Business.Value"), "int", restriction=_json(c, "Business.Id")),
        "countryId": Column(_json(c, "Country.CountryId"), "int"),
        "associateId": Column(_json(c, "Associate.AssociateId"), "int"),
        "email/emailAddress": _text(c, "Emails[0].Value"),
        "email/emailDescription": _text(c, "Emails[0].Description"),
        "contactPhone/formattedNumber": _text(c, "Phones[0].Value"),
        "contactPhone/description": _text(c, "Phones[0].Description"),
        "url/URLAddress": _text(c, "Urls[0].Value"),
        **_address(c, "postAddress", "Postal"),
        **_address(c, "streetAddress", "Street"),
        **_udefs(c, "contactUdef", 5),
    }


def _person_columns(p: str, c: str) -> dict[str, Column]:
    own = {
        "personId": Column(f"{p}.id", "int"),
        "firstName": _text(p, "Firstname"),
        "middleName": _text(p, "MiddleName"),
        "lastName": _text(p, "Lastname"),
        "fullName": _text(p, "FullName"),
        "mrMrs": _text(p, "Mrmrs"),
        "title": _text(p, "Title"),
        "personNumber": _text(p, "PersonNumber"),
        "personCountryId": Column(_json(p, "Country.CountryId"), "int"),
        "personNoMail": Column(_json(p, "NoMailing"), "bool"),
        "retired": Column(_json(p, "Retired"), "bool"),
        "hasCompany": Column(f"{p}.parent_id IS NOT NULL", "bool"),
        "personUpdatedDate": Column(f"{p}.updated", "datetime"),
        "personRegisteredDate": Column(f"{p}.created", "datetime"),
        "personDeletedDate": Column(f"{p}.deleted", "datetime", orderable=False),
        "email/emailAddress": _text(p, "Emails[0].Value"),
        "email/emailDescription": _text(p, "Emails[0].Description"),
        "personDirectPhone/formattedNumber": _text(p, "OfficePhones[0].Value"),
        "personMobilePhone/formattedNumber": _text(p, "MobilePhones[0].Value"),
        "personPrivate/formattedNumber": _text(p, "PrivatePhones[0].Value"),
        "personUrl/URLAddress": _text(p, "Urls[0].Value"),
        # A person has one address (PersonPrivate); the entity shows it as Address.Postal too.
        **_address(p, "personAddress", "Postal"),
        **_udefs(p, "personUdef", 5),
    }
    company = _contact_columns(c)
    company = {k: v for k, v in company.items() if not k.startswith(("email/", "url/"))}
    company["contactId"] = Column(f"{p}.parent_id", "int")
    return {**company, **own}


def _product_columns(r: str) -> dict[str, Column]:
    return {
        "productId": Column(f"{r}.id", "int"),
        "erpProductKey": _text(r, "ERPProductKey"),
        "erpPriceListKey": _text(r, "ERPPriceListKey"),
        "name": _text(r, "Name"),
        "description": _text(r, "Description"),
        "code": _text(r, "Code"),
        "priceUnit": _text(r, "PriceUnit"),
        "quantityUnit": _text(r, "QuantityUnit"),
        "listPrice": Column(_json(r, "UnitListPrice"), "decimal"),
        "cost": Column(_json(r, "UnitCost"), "decimal"),
        "minimumPrice": Column(_json(r, "UnitMinimumPrice"), "decimal"),
        "vat": Column(_json(r, "VAT"), "decimal"),
        "vatInfo": _text(r, "VATInfo"),
        "inAssortment": Column(_json(r, "InAssortment"), "bool"),
        "supplier": _text(r, "Supplier"),
        "supplierCode": _text(r, "SupplierCode"),
        "url": _text(r, "Url"),
        "updatedDate": Column(f"{r}.updated", "datetime"),
        "registeredDate": Column(f"{r}.created", "datetime"),
    }


def _sale_columns(s: str, q: str) -> dict[str, Column]:
    return {
        "saleId": Column(f"{s}.id", "int"),
        "heading": _text(s, "Heading"),
        "amount": Column(_json(s, "Amount"), "decimal"),
        "saleDate": Column(_json(s, "Saledate"), "datetime"),
        "status": _text(s, "Status"),
        "probability": Column(_json(s, "Probability"), "int"),
        "number": _text(s, "Number"),
        "contactId": Column(_json(s, "Contact.ContactId"), "int"),
        "personId": Column(_json(s, "Person.PersonId"), "int"),
        "associateId": Column(_json(s, "Associate.AssociateId"), "int"),
        "currencyId": Column(_json(s, "Currency.Id"), "int"),
        "updatedDate": Column(f"{s}.updated", "datetime"),
        "registeredDate": Column(f"{s}.created", "datetime"),
        "hasQuote": Column(f"{q}.id IS NOT NULL", "bool"),
        "quote/quoteId": Column(f"{q}.id", "int"),
        "quote/connectionId": Column(_json(q, "QuoteConnectionId"), "int"),
        "quote/activeQuoteVersionId": Column(_json(q, "ActiveQuoteVersionId"), "int"),
        "quote/acceptedQuoteAlternativeId": Column(_json(q, "AcceptedQuoteAlternativeId"), "int"),
        "quote/version/quoteVersionId": Column("v.id", "int"),
        "quote/version/number": _text("v", "Number"),
        "quote/version/alternative/quoteAlternativeId": Column("a.id", "int"),
        "quote/version/alternative/name": _text("a", "Name"),
        "quote/version/alternative/totalPrice": Column(_json("a", "TotalPrice"), "decimal"),
        "quote/version/alternative/quoteline/updatedDate": Column(
            "(SELECT MAX(l.updated) FROM record AS l WHERE l.kind = 'quote_line' "
            "AND l.parent_id = a.id)",
            "datetime",
        ),
        **_udefs(s, "saleUdef", 2),
    }


@dataclass(frozen=True)
class Provider:
    """One archive provider: its rows (FROM/WHERE) and columns."""

    name: str
    entity_name: str
    primary_key: str
    source: str
    condition: str
    columns: dict[str, Column]
    default_select: list[str] = field(default_factory=list)


PERSON_FROM = "record AS p LEFT JOIN record AS c ON c.kind = 'contact' AND c.id = p.parent_id"
CONTACT_FROM = "record AS c"
SALE_FROM = (
    "record AS s LEFT JOIN record AS q ON q.kind = 'quote' AND q.parent_id = s.id "
    "LEFT JOIN record AS v ON v.kind = 'quote_version' "
    "AND v.id = json_extract(q.body, '$.ActiveQuoteVersionId')"
)
# Only a query naming alternative columns joins the alternatives: one row per alternative then,
# as an archive with child columns does (the PrimaryKey repeats).
ALTERNATIVES_JOIN = " LEFT JOIN record AS a ON a.kind = 'quote_alternative' AND a.parent_id = v.id"
CHILD_MARKER = "quote/version/alternative/"

PROVIDERS: dict[str, Provider] = {
    provider.name.lower(): provider
    for provider in (
        Provider("Person", "person", "p.id", PERSON_FROM, "p.kind = 'person' AND p.deleted IS NULL",
                 _person_columns("p", "c"), ["personId", "fullName"]),
        Provider("RecyclePerson", "person", "p.id", PERSON_FROM,
                 "p.kind = 'person' AND p.deleted IS NOT NULL", _person_columns("p", "c"),
                 ["personId", "fullName", "personDeletedDate"]),
        Provider("Contact", "contact", "c.id", CONTACT_FROM,
                 "c.kind = 'contact' AND c.deleted IS NULL", _contact_columns("c"),
                 ["contactId", "name"]),
        Provider("RecycleContact", "contact", "c.id", CONTACT_FROM,
                 "c.kind = 'contact' AND c.deleted IS NOT NULL", _contact_columns("c"),
                 ["contactId", "name", "deletedDate"]),
        Provider("Product", "product", "r.id", "record AS r", "r.kind = 'product'",
                 _product_columns("r"), ["productId", "name"]),
        Provider("Sale", "sale", "s.id", SALE_FROM, "s.kind = 'sale'", _sale_columns("s", "q"),
                 ["saleId", "heading"]),
    )
}  # fmt: skip


@dataclass(frozen=True)
class ArchiveQuery:
    """The OData system query options of one archive request, as received."""

    select: str | None = None
    filter: str | None = None
    orderby: str | None = None
    top: str | None = None
    skip: str | None = None


def _int_option(name: str, value: str | None, default: int) -> int:
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except ValueError:
        raise BadRequestError(
            f"{name} must be a non-negative integer, got '{value[:40]}'"
        ) from None
    if number < 0:
        raise BadRequestError(f"{name} must be a non-negative integer, got '{value[:40]}'")
    return number


def _source(provider: Provider, query: ArchiveQuery) -> str:
    options = " ".join(v for v in (query.select, query.filter, query.orderby) if v).lower()
    if provider.name == "Sale" and CHILD_MARKER in options:
        return provider.source + ALTERNATIVES_JOIN
    return provider.source


def query_archive(
    store: Store, provider_name: str, query: ArchiveQuery, url: str
) -> dict[str, Any]:
    """One page of rows: `{"odata.metadata", "odata.nextLink", "value": [...]}`."""
    provider = PROVIDERS.get(provider_name.lower())
    if provider is None:
        raise NotFoundError(f"Archive provider '{provider_name[:80]}' not found")
    columns = {"PrimaryKey": Column(provider.primary_key, "int"), **provider.columns}
    selected = parse_select(query.select, columns, provider.default_select)
    where, params = filter_to_sql(query.filter or "", columns)
    order = parse_orderby(query.orderby, columns)
    top = min(_int_option("$top", query.top, MAX_TOP), MAX_TOP)
    skip = _int_option("$skip", query.skip, 0)
    expressions = "".join(
        f", {columns[name].sql} AS c{index}" for index, name in enumerate(selected)
    )
    ordering = [f"{columns[name].sql} {'ASC' if asc else 'DESC'}" for name, asc in order]
    ordering.append(f"{provider.primary_key} ASC")  # a stable order for paging
    sql = (
        f"SELECT {provider.primary_key} AS pk{expressions} "  # noqa: S608 - constants only
        f"FROM {_source(provider, query)} WHERE {provider.condition} AND ({where}) "
        f"ORDER BY {', '.join(ordering)} LIMIT ? OFFSET ?"
    )
    rows = store.query(sql, [*params, top + 1, skip])
    value = [_render(row, provider, selected, columns) for row in rows[:top]]
    return {
        "odata.metadata": url.split("/api/v1/")[0] + "/api/v1/Archive/$metadata",
        "odata.nextLink": _next_link(url, query, top, skip) if top and len(rows) > top else None,
        "value": value,
    }


def _render(
    row: Any, provider: Provider, selected: list[str], columns: dict[str, Column]
) -> dict[str, Any]:
    item: dict[str, Any] = {"PrimaryKey": row["pk"], "EntityName": provider.entity_name}
    for index, name in enumerate(selected):
        cell = row[f"c{index}"]
        item[name] = bool(cell) if columns[name].type == "bool" and cell is not None else cell
    return item


def _next_link(url: str, query: ArchiveQuery, top: int, skip: int) -> str:
    """The same query, `$skip` advanced by one page."""
    given = (("$select", query.select), ("$filter", query.filter), ("$orderby", query.orderby))
    options = {name: value for name, value in given if value}
    options.update({"$top": str(top), "$skip": str(skip + top)})
    return url.split("?")[0] + "?" + urlencode(options)
