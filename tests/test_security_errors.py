"""Issue 20, finding 15 (its last part): gunicorn's own 414 and 431 pages and FAB's JSON API
errors are in French, and repeat nothing of the request."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from helpers import free_port

from config import BASE_DIR


@pytest.fixture(scope="module")
def gunicorn_port() -> Iterator[int]:
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable, "-m", "gunicorn", "gunicorn_probe:app",
            "--chdir", str(Path(__file__).parent / "data"),
            "--pythonpath", str(BASE_DIR),
            "--bind", f"127.0.0.1:{port}", "--workers", "1", "--threads", "2",
            "--worker-class", "app.platform.server.FrenchThreadWorker",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        else:
            pytest.fail("gunicorn did not start")
        yield port
    finally:
        process.terminate()
        process.wait(timeout=10)


def _raw(port: int, request: bytes) -> str:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    return answer.decode("utf-8", errors="replace")


def test_gunicorn_s_414_is_in_french_and_echoes_nothing(gunicorn_port: int) -> None:
    path = "/" + "secret-" * 2000
    answer = _raw(gunicorn_port, f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    assert answer.startswith("HTTP/1.1 414 ")
    assert "Adresse trop longue" in answer and 'lang="fr"' in answer
    assert "secret-" not in answer


def test_gunicorn_s_431_is_in_french_and_echoes_nothing(gunicorn_port: int) -> None:
    headers = "".join(f"X-Secret-{n}: valeur-{n}\r\n" for n in range(150))
    answer = _raw(gunicorn_port, f"GET / HTTP/1.1\r\nHost: x\r\n{headers}\r\n".encode())
    assert answer.startswith("HTTP/1.1 431 ")
    assert "En-têtes trop volumineux" in answer and "X-Secret" not in answer


def test_a_plain_request_still_reaches_the_app(gunicorn_port: int) -> None:
    answer = _raw(gunicorn_port, b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert answer.startswith("HTTP/1.1 200") and "\r\nok\r\n" in answer


def test_fab_s_json_api_errors_are_in_french(anonymous_client: FlaskClient) -> None:
    unauthorized = anonymous_client.get("/api/v1/menu/")
    assert unauthorized.status_code == 401
    assert unauthorized.get_json()["message"] == "Connectez-vous pour accéder à cette page."
    missing = anonymous_client.get("/api/v1/nulle-part/")
    assert missing.status_code == 404
    assert missing.get_json()["message"].startswith("La page demandée n'existe pas")
    for response in (unauthorized, missing):
        text = response.get_data(as_text=True)
        assert "Not authorized" not in text and "not found" not in text.lower()
