"""A small HTTP client for the driver (the standard library's http.client, keep-alive, cookies)
and an HTML form reader/filler, so that every operation goes through the real forms."""

from __future__ import annotations

import http.client
import re
import secrets
from dataclasses import dataclass, field
from html.parser import HTMLParser
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import urlencode, urljoin, urlsplit

REFERENCE = re.compile(r"\b\d{2}-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}\b")


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes
    url: str

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    @property
    def location(self) -> str:
        return self.headers.get("location", "")


class Client:
    """One browser: its own connection (keep-alive) and cookie jar."""

    def __init__(self, host: str, port: int, timeout: float = 120.0) -> None:
        self.host, self.port, self.timeout = host, port, timeout
        self.cookies: dict[str, str] = {}
        self.conn: http.client.HTTPConnection | None = None

    def clone(self) -> Client:
        other = Client(self.host, self.port, self.timeout)
        other.cookies = dict(self.cookies)
        return other

    def _connection(self) -> http.client.HTTPConnection:
        if self.conn is None:
            self.conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        return self.conn

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
        *,
        stream: Any = None,
    ) -> Response:
        sent = {"Host": f"{self.host}:{self.port}", "Accept-Language": "fr"}
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if headers:
            sent.update(headers)
        for attempt in (1, 2):
            conn = self._connection()
            try:
                conn.request(method, path, body=body, headers=sent)
                raw = conn.getresponse()
                if stream is not None:
                    data = b""
                    while chunk := raw.read(256 * 1024):
                        stream(chunk)
                else:
                    data = raw.read()
                break
            except (http.client.HTTPException, ConnectionError, OSError):
                self.close()
                if attempt == 2:
                    raise
        for header in raw.msg.get_all("Set-Cookie") or []:
            cookie: SimpleCookie = SimpleCookie()
            cookie.load(header)
            for name, morsel in cookie.items():
                if morsel["max-age"] == "0" or not morsel.value and morsel["expires"]:
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel.value
        if raw.getheader("Connection", "").lower() == "close":
            self.close()
        return Response(raw.status, {k.lower(): v for k, v in raw.getheaders()}, data, path)

    def get(self, path: str, *, follow: bool = True, **kwargs: Any) -> Response:
        response = self.request("GET", path, **kwargs)
        hops = 0
        while follow and response.status in (301, 302, 303, 307) and hops < 5:
            path = _local(urljoin(path, response.location))
            response = self.request("GET", path)
            hops += 1
        return response

    def post_form(self, form: Form, fields: list[tuple[str, Any]]) -> Response:
        if form.multipart or any(isinstance(value, FileUpload) for _n, value in fields):
            body, content_type = multipart(fields)
        else:
            body = urlencode(fields).encode()
            content_type = "application/x-www-form-urlencoded"
        return self.request("POST", form.action, body, {"Content-Type": content_type})


def _local(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


@dataclass
class FileUpload:
    filename: str
    content_type: str
    data: bytes


def multipart(fields: list[tuple[str, Any]]) -> tuple[bytes, str]:
    boundary = "----bench" + secrets.token_hex(12)
    chunks: list[bytes] = []
    for name, value in fields:
        chunks.append(f"--{boundary}\r\n".encode())
        if isinstance(value, FileUpload):
            chunks.append(
                f'Content-Disposition: form-data; name="{name}"; filename="{value.filename}"\r\n'
                f"Content-Type: {value.content_type}\r\n\r\n".encode()
            )
            chunks.append(value.data)
        else:
            chunks.append(f'Content-Disposition: form-data; name="{name}"\r\n\r\n'.encode())
            chunks.append(str(value).encode())
        chunks.append(b"\r\n")
    chunks.append(f"--{boundary}--\r\n".encode())
    return b"".join(chunks), f"multipart/form-data; boundary={boundary}"


@dataclass
class Field:
    name: str
    kind: str  # input type, "select" or "textarea"
    value: str = ""
    checked: bool = False
    options: list[str] = field(default_factory=list)


@dataclass
class Form:
    action: str
    method: str
    multipart: bool
    fields: list[Field] = field(default_factory=list)

    def names(self) -> set[str]:
        return {f.name for f in self.fields}

    def fill(self, values: dict[str, Any] | None = None) -> list[tuple[str, Any]]:
        """What a browser would send, with ``values`` typed in (a name absent from the form is
        still sent: a file, say)."""
        values = dict(values or {})
        out: list[tuple[str, Any]] = []
        seen_radio: set[str] = set()
        for item in self.fields:
            if item.name in values:
                if item.kind == "radio" and item.name in seen_radio:
                    continue
                seen_radio.add(item.name)
                value = values[item.name]
                if value is not None:
                    out.append((item.name, value))
                continue
            if item.kind in ("submit", "button", "image", "reset", "file"):
                continue
            if item.kind in ("checkbox", "radio"):
                if item.checked:
                    out.append((item.name, item.value or "on"))
                continue
            if item.kind == "select":
                out.append((item.name, item.value or next((o for o in item.options if o), "")))
                continue
            out.append((item.name, item.value))
        names = self.names()
        out.extend((name, value) for name, value in values.items() if name not in names)
        return out


class _FormParser(HTMLParser):
    def __init__(self, base: str) -> None:
        super().__init__(convert_charrefs=True)
        self.base = base
        self.forms: list[Form] = []
        self.current: Form | None = None
        self.select: Field | None = None
        self.textarea: Field | None = None

    def handle_starttag(self, tag: str, attrs_list: list[tuple[str, str | None]]) -> None:
        attrs = {k: v or "" for k, v in attrs_list}
        if tag == "form":
            self.current = Form(
                _local(urljoin(self.base, attrs.get("action") or self.base)),
                (attrs.get("method") or "get").lower(),
                "multipart" in (attrs.get("enctype") or ""),
            )
            self.forms.append(self.current)
        elif self.current is None:
            return
        elif tag == "input" and attrs.get("name"):
            kind = (attrs.get("type") or "text").lower()
            self.current.fields.append(
                Field(attrs["name"], kind, attrs.get("value", ""), "checked" in attrs)
            )
        elif tag == "select" and attrs.get("name"):
            self.select = Field(attrs["name"], "select")
            self.current.fields.append(self.select)
        elif tag == "option" and self.select is not None:
            value = attrs.get("value", "")
            self.select.options.append(value)
            if "selected" in attrs:
                self.select.value = value
        elif tag == "textarea" and attrs.get("name"):
            self.textarea = Field(attrs["name"], "textarea")
            self.current.fields.append(self.textarea)
        elif tag == "button" and attrs.get("name"):
            self.current.fields.append(Field(attrs["name"], "button", attrs.get("value", "")))

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.current = None
        elif tag == "select":
            self.select = None
        elif tag == "textarea":
            self.textarea = None

    def handle_data(self, data: str) -> None:
        if self.textarea is not None:
            self.textarea.value += data


def forms(page: Response) -> list[Form]:
    parser = _FormParser(page.url)
    parser.feed(page.text)
    return parser.forms


def find_form(page: Response, *, action_contains: str = "", has: str = "") -> Form | None:
    for form in forms(page):
        if form.method != "post":
            continue
        if action_contains and action_contains not in form.action:
            continue
        if has and has not in form.names():
            continue
        return form
    return None


def error_excerpt(page: Response) -> str:
    """The first error message shown on a page, to say why a form was refused."""
    match = re.search(
        r'class="[^"]*(?:fr-error-text|fr-message--error|fr-alert--error|alert-danger|'
        r'help-block|text-danger)[^"]*"[^>]*>(.*?)</',
        page.text,
        re.S,
    )
    text = re.sub(r"<[^>]+>|\s+", " ", match.group(1)).strip() if match else ""
    return text[:160] or f"HTTP {page.status} at {page.url}"
