"""The baseline of ``bench.intake``: a bare Flask endpoint under the same gunicorn settings as
``b24app web``, answering the same requests the same way without parsing, verifying or storing them.

    python -m bench.bare_web --bind 127.0.0.1:PORT --workers 3 --threads 1
"""
from __future__ import annotations

import argparse

from flask import Flask, jsonify, request

from service.gunicorn_app import GunicornApp


def bare_app() -> Flask:
    app = Flask("bare")

    @app.post("/b24/events")
    def events():  # type: ignore[no-untyped-def]
        request.get_data()
        return jsonify(result="accepted", id=1)

    @app.get("/b24/app")
    def page() -> str:
        return "ok"

    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bind", required=True)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    GunicornApp(bind=args.bind, workers=args.workers, threads=args.threads, factory=bare_app).run()


if __name__ == "__main__":
    main()
