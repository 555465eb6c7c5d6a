"""The README's API table lists exactly the operations the served OpenAPI document has (one
row per method and path), each with the headers and query parameters it reads: an endpoint
added without its line, or a line left for one removed, fails here."""

import re
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"
ROW = re.compile(r"^\|\s*`(GET|POST|PUT|PATCH|DELETE) (/\S*)`(.*)$")


def api_table() -> dict[tuple[str, str], str]:
    """(method, path) → the rest of its row, from the table of the README's API section."""
    section = README.read_text(encoding="utf-8").split("\n## API\n", 1)[1].split("\n## ", 1)[0]
    rows: dict[tuple[str, str], str] = {}
    for line in section.splitlines():
        if match := ROW.match(line):
            key = (match.group(1), match.group(2))
            assert key not in rows, f"listed twice: {key}"
            rows[key] = match.group(3)
    return rows


def served(client) -> dict[tuple[str, str], dict]:
    document = client.get("/api/v1/openapi.json").get_json()
    return {
        (method.upper(), path): operation
        for path, methods in document["paths"].items()
        for method, operation in methods.items()
    }


def test_the_readme_lists_every_operation_served_and_no_other(client):
    table, operations = api_table(), served(client)
    assert set(operations) - set(table) == set(), "served, missing from the README's table"
    assert set(table) - set(operations) == set(), "in the README's table, not served"


def test_each_row_names_the_headers_and_query_parameters(client):
    table = api_table()
    for key, operation in served(client).items():
        for parameter in operation.get("parameters", []):
            if parameter["in"] in ("header", "query"):
                assert f"`{parameter['name']}`" in table[key], (key, parameter["name"])
    # Rows are "| `METHOD path` | who | what |": nobody left out.
    for key, rest in table.items():
        who, what = [cell.strip() for cell in rest.split("|")[1:3]]
        assert who and what, key
