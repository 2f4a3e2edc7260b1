"""The API's security promises: tokens where required, upload limits, hostile files and names, safe binding."""

from __future__ import annotations

import csv
import errno
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from api_helpers import PROJECT_DIR, TOKEN, api_client, api_environment, bearer, free_port, run_main, start_api

import errors
from autosight.web import uploads
from autosight.web.config import load_web_config

CSV_HEADER = b"sale_date,product_name,quantity,price\n"
READ_PATHS = ["/api/v1/summary", "/api/v1/days", "/api/v1/products", "/api/v1/forecast", "/api/v1/files",
              "/api/v1/runs", "/api/v1/report", "/healthz"]


@pytest.fixture
def environ(database_url: str, tmp_path: Path) -> dict[str, str]:
    return {"DATABASE_URL": database_url, "OUTPUT_DIR": str(tmp_path / "out"), "AUTOSIGHT_API_TOKEN": TOKEN,
            "UPLOAD_DIR": str(tmp_path / "uploads"), "UPLOAD_MAX_MB": "1"}


def upload(client: Any, name: str, content: bytes, headers: dict[str, str] | None = None) -> Any:
    return client.post("/api/v1/files", files={"file": (name, content, "text/csv")},
                       headers=bearer() if headers is None else headers)


def ledger_entries(client: Any) -> int:
    return int(client.get("/api/v1/files", headers=bearer()).json()["total"])


@pytest.mark.parametrize("headers", [{}, bearer("wrong-token-0123456789abcdef"), {"Authorization": "Basic eDp5"},
                                     {"Authorization": f"Bearer {TOKEN}x"}, {"Authorization": "Bearer"}],
                         ids=["none", "wrong", "basic", "longer", "empty"])
def test_an_upload_without_the_right_token_is_401_and_loads_nothing(environ, headers):
    with api_client(environ) as client:
        answer = upload(client, "a.csv", CSV_HEADER + b"2024-01-01,Mug,1,7.25\n", headers)
        entries = ledger_entries(client)
    assert answer.status_code == 401
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.headers["www-authenticate"].startswith("Bearer")
    assert entries == 0


def test_uploads_are_refused_when_the_server_has_no_token(environ):
    with api_client({**environ, "AUTOSIGHT_API_TOKEN": ""}) as client:
        answer = upload(client, "a.csv", CSV_HEADER + b"2024-01-01,Mug,1,7.25\n")
    assert answer.status_code == 401
    assert "AUTOSIGHT_API_TOKEN" in answer.json()["detail"]


def test_beyond_loopback_every_endpoint_needs_the_token(environ):
    with api_client(environ, token_for_reads=True) as client:
        without = {path: client.get(path).status_code for path in READ_PATHS}
        wrong = {path: client.get(path, headers=bearer("x" * 20)).status_code for path in READ_PATHS}
        right = {path: client.get(path, headers=bearer()).status_code for path in READ_PATHS}
    assert set(without.values()) == {401}
    assert set(wrong.values()) == {401}
    assert all(code != 401 for code in right.values())
    assert right["/api/v1/summary"] == 200


def test_on_loopback_reads_need_no_token(environ):
    with api_client(environ) as client:
        assert client.get("/api/v1/summary").status_code == 200
        assert client.get("/healthz").status_code == 200


def test_an_oversized_upload_is_413_and_nothing_is_stored(environ, tmp_path):
    big = CSV_HEADER + b"2024-01-01,Mug,1,7.25\n" * 60_000  # 1.3 MB > UPLOAD_MAX_MB=1
    with api_client(environ) as client:
        answer = upload(client, "big.csv", big)
        entries = ledger_entries(client)
    assert answer.status_code == 413
    assert answer.json()["status"] == 413
    assert entries == 0
    assert not (tmp_path / "uploads" / "big.csv").exists()
    assert list((tmp_path / "uploads").rglob("*.part")) == []


def test_an_oversized_chunked_upload_without_length_is_cut_off(environ, tmp_path):
    boundary = "b0undary"
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.csv\"\r\n"
            "Content-Type: text/csv\r\n\r\n").encode() + CSV_HEADER
    tail = f"\r\n--{boundary}--\r\n".encode()

    def body() -> Any:
        yield head
        for _ in range(40):
            yield b"2024-01-01,Mug,1,7.25\n" * 2000  # 44 kB a chunk, 1.7 MB in all
        yield tail

    with api_client(environ) as client:
        answer = client.post("/api/v1/files", content=body(),
                             headers={**bearer(), "Content-Type": f"multipart/form-data; boundary={boundary}"})
        entries = ledger_entries(client)
    assert answer.status_code == 413
    assert entries == 0
    assert list((tmp_path / "uploads").rglob("*.part")) == []


@pytest.mark.parametrize("name", ["../evil.csv", "../../etc/cron.d/evil.csv", "/tmp/evil.csv", "a/b.csv",
                                  "..\\evil.csv", ".hidden.csv", "evil.sh", "evil.csv\x00.txt", "", "..csv"])
def test_a_file_name_with_a_folder_or_odd_characters_is_refused(environ, tmp_path, name):
    with api_client(environ) as client:
        answer = upload(client, name, CSV_HEADER + b"2024-01-01,Mug,1,7.25\n")
        entries = ledger_entries(client)
    assert answer.status_code in (400, 422), answer.text
    assert entries == 0
    assert not (tmp_path / "evil.csv").exists() and not (tmp_path / "out" / "evil.csv").exists()
    stored = [p for p in (tmp_path / "uploads").rglob("*") if p.is_file()] if (tmp_path / "uploads").exists() else []
    assert stored == []


HOSTILE = {
    "formula-and-markup": CSV_HEADER + b'2024-01-01,"=HYPERLINK(""http://x"")",1,7.25\n'
                          b'2024-01-02,<script>alert(1)</script>,2,3.00\n',
    "binary": CSV_HEADER + bytes(range(256)) * 20,
    "nul-bytes": CSV_HEADER + b"2024-01-01,Mu\x00g,1,7.25\n",
    "huge-field": CSV_HEADER + b"2024-01-01," + b"A" * 300_000 + b",1,7.25\n",
    "not-csv": b"\x89PNG\r\n\x1a\n" + b"\x00" * 1000,
    "empty": b"",
    "sql-in-name": CSV_HEADER + b"2024-01-01,'); DROP TABLE sales_data; --,1,7.25\n",
}


@pytest.mark.parametrize("content", list(HOSTILE.values()), ids=list(HOSTILE))
def test_a_hostile_csv_is_loaded_as_data_or_refused_never_a_server_error(environ, content):
    with api_client(environ) as client:
        answer = upload(client, "hostile.csv", content)
        summary = client.get("/api/v1/summary")
        products = client.get("/api/v1/products").json()
    assert answer.status_code in (201, 422), answer.text
    assert summary.status_code == 200
    if answer.status_code == 422:
        assert answer.json()["outcome"]["rows_loaded"] == 0
    assert all(len(item["product"]) <= 200 and "\x00" not in item["product"] for item in products["items"])


def test_the_sql_looking_name_is_stored_as_a_name(environ):
    with api_client(environ) as client:
        answer = upload(client, "sql.csv", HOSTILE["sql-in-name"])
        products = client.get("/api/v1/products").json()
    assert answer.status_code == 201
    assert [item["product"] for item in products["items"]] == ["'); DROP TABLE sales_data; --"]


def test_a_get_cannot_write(environ):
    """Reads run in READ ONLY transactions: the pooled connections refuse any write."""
    with api_client(environ) as client:
        source = client.app.state.source
        with source.reading() as connection, connection.cursor() as cursor, \
                pytest.raises(Exception, match="read-only transaction"):
            cursor.execute("CREATE TABLE intruder (x int)")


def test_cors_is_off_unless_configured(environ):
    preflight = {"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"}
    with api_client(environ) as client:
        closed = client.options("/api/v1/summary", headers=preflight)
        plain = client.get("/api/v1/summary", headers={"Origin": "https://evil.example"})
    with api_client({**environ, "CORS_ORIGINS": "https://bi.example.com"}) as client:
        allowed = client.get("/api/v1/summary", headers={"Origin": "https://bi.example.com"})
    assert "access-control-allow-origin" not in closed.headers
    assert "access-control-allow-origin" not in plain.headers
    assert allowed.headers["access-control-allow-origin"] == "https://bi.example.com"


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.0.2.1", "example.com"])
def test_the_server_refuses_to_listen_beyond_loopback_without_a_token(tmp_path, host):
    result = subprocess.run([sys.executable, str(PROJECT_DIR / "api.py"), "--host", host, "--port", "1"],
                            cwd=tmp_path, env=api_environment(), capture_output=True, text=True, timeout=60)
    assert result.returncode == 78
    assert "AUTOSIGHT_API_TOKEN" in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_a_short_token_is_refused_at_start(tmp_path):
    result = subprocess.run([sys.executable, str(PROJECT_DIR / "api.py")], cwd=tmp_path,
                            env=api_environment(AUTOSIGHT_API_TOKEN="s3cr3t-x"), capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 78
    assert "s3cr3t-x" not in result.stderr  # the token itself is never printed


def test_the_real_server_with_a_token_serves_and_never_logs_the_token(database_url, tmp_path):
    port = free_port()
    log = tmp_path / "api.log"
    env = api_environment(DATABASE_URL=database_url, AUTOSIGHT_API_TOKEN=TOKEN, LOG_FILE=str(log),
                          OUTPUT_DIR=str(tmp_path / "out"), UPLOAD_DIR=str(tmp_path / "uploads"))
    process = start_api(port, tmp_path, env)
    base = f"http://127.0.0.1:{port}"
    try:
        loaded = httpx.post(f"{base}/api/v1/files", headers=bearer(), timeout=30,
                            files={"file": ("t.csv", CSV_HEADER + b"2024-01-01,Mug,1,7.25\nbad,row\n", "text/csv")})
        wrong = httpx.post(f"{base}/api/v1/files", headers=bearer(TOKEN[::-1]), timeout=30,
                           files={"file": ("t.csv", CSV_HEADER, "text/csv")})
        page = httpx.get(f"{base}/", timeout=10)
    finally:
        process.terminate()
        _, stderr = process.communicate(timeout=30)
    assert loaded.status_code in (201, 422) and wrong.status_code == 401
    assert page.status_code == 200 and "default-src 'self'" in page.headers["content-security-policy"]
    text = log.read_text() + stderr
    assert TOKEN not in text and TOKEN[::-1] not in text
    assert "API server starting" in log.read_text()


def test_a_refused_upload_leaves_the_upload_folder_as_it_was(environ, tmp_path):
    """The refused replacement leaves the name's earlier rows loaded, so its earlier file stays beside them; a
    refused new name leaves no file at all."""
    good = CSV_HEADER + b"2024-01-01,Mug,2,7.25\n"
    bad = CSV_HEADER + b"2024-02-30,Mug,1,7.25\n" * 5
    with api_client(environ) as client:
        loaded = upload(client, "shop.csv", good)
        refused = upload(client, "shop.csv", bad)
        refused_new = upload(client, "other.csv", bad)
        products = client.get("/api/v1/products").json()["items"]
    assert (loaded.status_code, refused.status_code, refused_new.status_code) == (201, 422, 422)
    assert [(item["product"], item["quantity"], item["revenue"]) for item in products] == [("Mug", 2, 14.5)]
    assert sorted(p.name for p in (tmp_path / "uploads").iterdir() if p.is_file()) == ["shop.csv"]
    assert (tmp_path / "uploads" / "shop.csv").read_bytes() == good
    assert list((tmp_path / "uploads" / ".incoming").iterdir()) == []


ODD_NAMES = {"line1\nline2": 1, "tab\tand\rreturn": 2, "a/b": 3, "../../etc/passwd": 4, "?x=1#y": 5, "100% + a b": 6,
             "a;b=c&d": 7, "<script>alert(1)</script>": 8, "\u202eevil\u202c gpj.exe": 9, "名前": 10}


def test_every_product_in_the_ranking_can_be_looked_up_whatever_its_name(environ):
    """Names with line breaks, slashes, dots, URL syntax, markup or bidi controls: GET /products/{name} with the
    name percent-encoded answers that product (a newline once fell outside the route's pattern: 404)."""
    rows = "".join(f'2024-01-01,"{name}",{quantity},1.00\n' for name, quantity in ODD_NAMES.items())
    with api_client(environ) as client:
        assert upload(client, "odd.csv", CSV_HEADER + rows.encode()).status_code == 201
        ranked = [item["product"] for item in client.get("/api/v1/products").json()["items"]]
        answers = {name: client.get(f"/api/v1/products/{quote(name, safe='')}") for name in ranked}
    assert sorted(ranked) == sorted(ODD_NAMES)
    assert {name: answer.status_code for name, answer in answers.items()} == dict.fromkeys(ODD_NAMES, 200)
    assert {name: (answer.json()["product"], answer.json()["quantity"]) for name, answer in answers.items()} == {
        name: (name, quantity) for name, quantity in ODD_NAMES.items()}


FORMULA_ROWS = ["=HYPERLINK(A1),Mug,1,7.25", "+1+2,Mug,1,7.25", "-2+3,Mug,1,7.25",
                "@SUM(A1:A9),Mug,1,7.25", "\tcmd,Mug,1,7.25"]


def test_rejects_csv_neutralises_formulas_and_the_api_keeps_the_raw_text(database_url, tmp_path):
    """A rejected row that a spreadsheet would run as a formula is written to rejects.csv behind a ' (CSV
    injection); the database, and so the API, keep its raw text exact."""
    lines = [f"2024-01-0{day},Mug,1,7.25" for day in range(1, 10)] * 6 + FORMULA_ROWS  # 5 of 59 rejected
    source = tmp_path / "in.csv"
    source.write_bytes(CSV_HEADER + "\n".join(lines).encode() + b"\n")
    result = run_main(database_url, tmp_path, "--csv", str(source), "--output-dir", str(tmp_path / "out"))
    assert result.returncode == 0, result.stderr
    with (tmp_path / "out" / "rejects.csv").open(newline="", encoding="utf-8") as stream:
        written = [row["raw_text"] for row in csv.DictReader(stream)]
    with api_client({"DATABASE_URL": database_url, "OUTPUT_DIR": str(tmp_path / "out")}) as client:
        [entry] = client.get("/api/v1/files").json()["items"]
        served = [row["raw_text"] for row in client.get(f"/api/v1/files/{entry['file_id']}/rejects").json()["items"]]
    assert written == ["'" + row for row in FORMULA_ROWS]
    assert served == FORMULA_ROWS


UNKNOWN_OR_REPEATED = [
    ("/api/v1/summary", "form=2024-01-01", "unknown-parameter"),  # a misspelt from= answered the whole history
    ("/api/v1/products", "limit=5&page=2", "unknown-parameter"),
    ("/api/v1/days", "days=7&days=30", "repeated-parameter"),
    ("/api/v1/files", "status=active&status=refused", "repeated-parameter"),
    ("/api/v1/runs", "from=2024-01-01", "unknown-parameter"),
    ("/api/v1/products/Mug", "sort=revenue", "unknown-parameter"),
]


def test_an_unknown_or_repeated_query_parameter_is_400(environ):
    with api_client(environ) as client:
        answers = [client.get(f"{path}?{query}") for path, query, _ in UNKNOWN_OR_REPEATED]
        documented = [client.get("/api/v1/summary?days=7&to=2024-01-01"), client.get("/api/v1/runs?limit=5&offset=0")]
    assert [(answer.status_code, answer.json()["type"].rsplit("/", 1)[1]) for answer in answers] == [
        (400, problem) for _, _, problem in UNKNOWN_OR_REPEATED]
    assert {answer.headers["content-type"] for answer in answers} == {"application/problem+json"}
    assert [answer.status_code for answer in documented] == [200, 200]


def test_concurrent_uploads_of_one_file_load_it_once(database_url, tmp_path):
    """Four clients upload the same file at once: one loads it; the others find it loaded (200) or the lock
    taken by that upload (409, Retry-After, saying that another run holds it, not blaming a batch run); one
    ledger entry, one file in UPLOAD_DIR, nothing left in staging."""
    rows = "".join(f"2024-01-{1 + i % 28:02d},Item {i % 50},1,1.25\n" for i in range(20_000))
    content = CSV_HEADER + rows.encode()
    port = free_port()
    env = api_environment(DATABASE_URL=database_url, AUTOSIGHT_API_TOKEN=TOKEN, LOG_FILE=str(tmp_path / "api.log"),
                          OUTPUT_DIR=str(tmp_path / "out"), UPLOAD_DIR=str(tmp_path / "uploads"))
    process = start_api(port, tmp_path, env)
    base = f"http://127.0.0.1:{port}/api/v1"
    try:
        with ThreadPoolExecutor(4) as pool:
            answers = list(pool.map(lambda _: httpx.post(f"{base}/files", headers=bearer(), timeout=120,
                                                         files={"file": ("same.csv", content, "text/csv")}), range(4)))
        ledger = httpx.get(f"{base}/files", timeout=30).json()
        summary = httpx.get(f"{base}/summary", timeout=30).json()["executive_summary"]
    finally:
        process.terminate()
        process.communicate(timeout=30)
    statuses = sorted(answer.status_code for answer in answers)
    assert statuses.count(201) == 1 and set(statuses) <= {200, 201, 409}, statuses
    busy = [answer for answer in answers if answer.status_code == 409]
    assert all(answer.headers["retry-after"].isdigit() and "another run" in answer.json()["detail"] for answer in busy)
    assert ledger["total"] == 1 and summary["total_revenue"] == 25_000.0  # 20,000 rows x 1.25
    assert [path.name for path in (tmp_path / "uploads").iterdir() if path.is_file()] == ["same.csv"]
    assert list((tmp_path / "uploads" / ".incoming").iterdir()) == []


def test_head_is_get_without_the_body(environ):
    """A monitor's `curl -I` got 405 from every API endpoint."""
    paths = ["/healthz", "/api/v1/summary", "/api/v1/files", "/", "/static/dashboard.js"]
    with api_client(environ) as client:
        pairs = {path: (client.head(path), client.get(path)) for path in paths}
        puts = [client.put(path) for path in ("/api/v1/files", "/api/v1/summary")]
    for path, (head, got) in pairs.items():
        assert (head.status_code, got.status_code, head.content) == (200, 200, b""), path
        assert head.headers["content-type"] == got.headers["content-type"], path
        assert head.headers["content-length"] == got.headers["content-length"], path
    assert [(answer.status_code, answer.headers["allow"]) for answer in puts] == [
        (405, "GET, HEAD, POST"), (405, "GET, HEAD")]


def test_a_refused_cors_preflight_is_a_problem(environ):
    """Starlette refuses a preflight in plain text; every error of this API is problem details."""
    asked = {"Access-Control-Request-Method": "GET"}
    with api_client({**environ, "CORS_ORIGINS": "https://bi.example.com"}) as client:
        refused = client.options("/api/v1/summary", headers={**asked, "Origin": "https://evil.example"})
        allowed = client.options("/api/v1/summary", headers={**asked, "Origin": "https://bi.example.com"})
    assert (refused.status_code, refused.headers["content-type"]) == (400, "application/problem+json")
    assert refused.json()["detail"].startswith("Disallowed CORS origin")
    assert "access-control-allow-origin" not in refused.headers
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == "https://bi.example.com"


def test_cors_origins_are_taken_as_browsers_send_them(environ):
    """An origin written with a trailing slash never matched the browser's Origin header, and CORS stayed off
    without a word: it is taken without the slash; one with a path or without a scheme stops the server (78)."""
    origin = {"Origin": "https://bi.example.com"}
    with api_client({**environ, "CORS_ORIGINS": "https://bi.example.com/, http://localhost:3000"}) as client:
        allowed = client.get("/api/v1/summary", headers=origin)
    assert allowed.headers["access-control-allow-origin"] == "https://bi.example.com"
    for wrong in ("https://bi.example.com/app", "bi.example.com", "https://bi.example.com?x=1"):
        with pytest.raises(errors.ConfigError, match="CORS_ORIGINS"):
            load_web_config({"CORS_ORIGINS": wrong})


def test_a_date_the_document_allows_is_a_date_the_server_takes(environ):
    """The OpenAPI pattern of from/to allowed years before 1000, which the server refused (400): a client that
    trusts the document, schemathesis among them, got a refusal for a documented value."""
    with api_client(environ) as client:
        parameters = client.get("/openapi.json").json()["paths"]["/api/v1/summary"]["get"]["parameters"]
        [pattern] = {parameter["schema"].get("pattern") or parameter["schema"]["anyOf"][0]["pattern"]
                     for parameter in parameters if parameter["name"] in ("from", "to")}
        days = ["0001-01-01", "0999-12-31", "1000-01-01", "9999-12-31"]
        answers = {(name, day): client.get("/api/v1/summary", params={name: day}).status_code
                   for name in ("from", "to") for day in days}
    assert answers == {(name, day): 200 if re.match(pattern, day) else 400 for name, day in answers}


ROW = CSV_HEADER + b"2024-01-01,Mug,1,7.25\n"
MALFORMED_UPLOADS = {
    "empty-body": ({"Content-Type": "multipart/form-data; boundary=x"}, {"content": b""}, 400),
    "no-boundary": ({"Content-Type": "multipart/form-data"}, {"content": ROW}, 400),
    "json": ({"Content-Type": "application/json"}, {"content": b'{"file": "a.csv"}'}, 415),
    "raw-csv": ({"Content-Type": "text/csv"}, {"content": ROW}, 415),
    "no-content-type": ({}, {"content": ROW}, 415),
    "two-files": ({}, {"files": [("file", ("a.csv", ROW)), ("file", ("b.csv", ROW))]}, 400),
    "200-files": ({}, {"files": [("file", (f"f{i}.csv", ROW)) for i in range(200)]}, 400),
    "extra-field": ({}, {"files": {"file": ("a.csv", ROW)}, "data": {"note": "x"}}, 400),
    "wrong-field": ({}, {"files": {"upload": ("a.csv", ROW)}}, 400),
    "file-as-text": ({"Content-Type": "multipart/form-data; boundary=b"},
                     {"content": b'--b\r\nContent-Disposition: form-data; name="file"\r\n\r\nabc\r\n--b--\r\n'}, 400),
}


def test_a_malformed_upload_is_a_problem_and_stores_nothing(environ, tmp_path):
    """Every shape of body but one file in the field 'file' of a multipart form: 400 or 415, problem details."""
    with api_client(environ) as client:
        answers = {case: client.post("/api/v1/files", headers={**bearer(), **headers}, **body)
                   for case, (headers, body, _) in MALFORMED_UPLOADS.items()}
        entries = ledger_entries(client)
    assert {case: answer.status_code for case, answer in answers.items()} == {
        case: status for case, (_, _, status) in MALFORMED_UPLOADS.items()}
    assert {answer.headers["content-type"] for answer in answers.values()} == {"application/problem+json"}
    assert entries == 0
    uploads = tmp_path / "uploads"
    assert not uploads.exists() or [p for p in uploads.rglob("*") if p.is_file()] == []


@pytest.mark.parametrize("token", ["pässwörd-0123456789abcdéf", "two words 0123456789abcdef", "tab\tinside-0123456789"],
                         ids=["non-ascii", "space", "control"])
def test_a_token_no_client_could_send_is_refused_at_start(token):
    """A token with a non-ASCII letter never matched (HTTP headers are bytes; every request was 401): refused
    at start like a short one, without printing it."""
    with pytest.raises(errors.ConfigError, match="AUTOSIGHT_API_TOKEN") as refused:
        load_web_config({"AUTOSIGHT_API_TOKEN": token})
    assert token not in str(refused.value)


def test_an_unknown_product_in_a_period_without_sales_is_said_plainly(environ):
    """The 404 said 'in the period None..None'."""
    with api_client(environ) as client:
        answer = client.get("/api/v1/products/Mug", params={"to": "1999-12-31"})
    assert answer.status_code == 404
    assert answer.json()["detail"] == "no sales of the product 'Mug' in a period without any sale"


def test_requests_for_unknown_products_leave_nothing_behind(environ):
    """Each unknown product's 404 left a lock in the answer cache for ever: distinct names grew the server's
    memory without bound."""
    with api_client(environ) as client:
        assert upload(client, "a.csv", CSV_HEADER + b"2024-01-01,Mug,1,7.25\n").status_code == 201
        answers = {client.get(f"/api/v1/products/ghost-{n}").status_code for n in range(50)}
        cache = client.app.state.source._responses
        assert answers == {404}
        assert cache._key_locks == {}


def test_a_trailing_slash_is_not_redirected_to_the_host_the_client_named(environ):
    """/api/v1/summary/ was a 307 to http://<the request's Host header>/api/v1/summary: any host a client named."""
    with api_client(environ) as client:
        answer = client.get("/api/v1/summary/", headers={"Host": "evil.example"}, follow_redirects=False)
    assert (answer.status_code, answer.headers["content-type"]) == (404, "application/problem+json")
    assert "location" not in answer.headers


def test_a_disk_full_while_staging_an_upload_is_507_and_leaves_no_part_behind(environ, tmp_path, monkeypatch):
    """The disk filling up half-way through the staging copy left the partial .part file in UPLOAD_DIR/.incoming
    for ever (and answered 500)."""
    def half_then_full(source: Any, target: Any, length: int = 0) -> None:
        target.write(source.read(10))
        raise OSError(errno.ENOSPC, "No space left on device")

    with api_client(environ) as client:
        monkeypatch.setattr(uploads.shutil, "copyfileobj", half_then_full)
        answer = upload(client, "full.csv", CSV_HEADER + b"2024-01-01,Mug,1,7.25\n")
        monkeypatch.undo()
        entries = ledger_entries(client)
    assert (answer.status_code, answer.headers["content-type"]) == (507, "application/problem+json")
    assert entries == 0
    assert [path for path in (tmp_path / "uploads").rglob("*") if path.is_file()] == []


def test_a_page_of_rejected_rows_stays_small_however_long_their_raw_text(environ):
    """A rejected row keeps 100,000 characters of raw text: a page of 1,000 was a 100-MB answer any reader could
    ask for again and again. Pages of rejected rows hold 100 rows at most."""
    long_rows = b"".join(b"2024-01-01," + b"X" * 120_000 + b",1,7.25\n" for _ in range(110))
    with api_client({**environ, "UPLOAD_MAX_MB": "20"}) as client:
        refused = upload(client, "long.csv", CSV_HEADER + long_rows)
        file_id = client.get("/api/v1/files").json()["items"][0]["file_id"]
        too_many = client.get(f"/api/v1/files/{file_id}/rejects", params={"limit": "1000"})
        page = client.get(f"/api/v1/files/{file_id}/rejects", params={"limit": "100"})
    assert refused.status_code == 422
    assert too_many.status_code == 400
    assert page.status_code == 200 and page.json()["total"] == 110 and len(page.json()["items"]) == 100
    assert len(page.content) < 11_000_000
