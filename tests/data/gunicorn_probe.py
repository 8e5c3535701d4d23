"""A one-line WSGI app for tests/test_security_errors.py: gunicorn answers 414 and 431 itself."""


def app(environ, start_response):  # type: ignore[no-untyped-def]
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok"]
