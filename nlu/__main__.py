"""`python -m nlu parse|train|evaluate` (SPEC §9).

parse     read stdin line by line, write one JSON object per line to stdout (nothing else there)
train     build nlu/models/embedded.npz (`--if-needed`: only when the data or code changed)
evaluate  both backends side by side on the held-out split (Rasa when .venv-rasa exists)
rasa-serve  train the Rasa model if needed and serve it on 127.0.0.1 (port of RASA_URL, default
          5005) with RASA_TOKEN and telemetry off, until Ctrl-C (the optional `rasa` process)
"""

from __future__ import annotations

import argparse
import json
import logging
import sys


def _parse(args: argparse.Namespace) -> int:
    from nlu import load_interpreter

    interpreter = load_interpreter(args.backend)
    out = sys.stdout
    for line in sys.stdin:
        text = line.rstrip("\r\n")
        out.write(json.dumps(interpreter.parse(text), ensure_ascii=False) + "\n")
        out.flush()
    return 0


def _train(args: argparse.Namespace) -> int:
    from nlu.embedded import is_up_to_date, train

    if args.if_needed and is_up_to_date():
        logging.getLogger("nlu").info("embedded NLU model is up to date")
        return 0
    train()
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    from nlu.evaluate import main

    return main(rasa=args.rasa, epochs=args.epochs)


def _rasa_serve(args: argparse.Namespace) -> int:
    import time
    from urllib.parse import urlsplit

    from chumnuoy.settings import get_settings
    from nlu.rasa_backend import RasaServer, train_model

    settings = get_settings()
    if not settings.rasa_token:
        print("RASA_TOKEN is not set: refusing to start an unauthenticated Rasa server", file=sys.stderr)
        return 2
    port = urlsplit(settings.rasa_url).port or 5005
    model = train_model(args.epochs) if args.epochs else train_model()
    server = RasaServer(model.path, settings.rasa_token, port=port).start()
    print(f"Rasa server on {server.url} (Ctrl-C stops it)", file=sys.stderr, flush=True)
    try:
        while server.process is not None and server.process.poll() is None:
            time.sleep(1)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    parser = argparse.ArgumentParser(prog="python -m nlu", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    parse = commands.add_parser("parse", help="parse stdin lines to JSON lines")
    parse.add_argument("--backend", choices=["embedded", "rasa"], default=None,
                       help="default: NLU_BACKEND (embedded)")
    parse.set_defaults(run=_parse)
    train = commands.add_parser("train", help="train the embedded model")
    train.add_argument("--if-needed", action="store_true", help="do nothing when the model is up to date")
    train.set_defaults(run=_train)
    evaluate = commands.add_parser("evaluate", help="compare both backends on the held-out split")
    evaluate.add_argument("--rasa", choices=["auto", "yes", "no"], default="auto",
                          help="auto: when .venv-rasa exists; yes: fail without it")
    evaluate.add_argument("--epochs", type=int, default=None, help="DIET epochs (default: config, 100)")
    evaluate.set_defaults(run=_evaluate)
    serve = commands.add_parser("rasa-serve", help="serve the Rasa backend on 127.0.0.1 (RASA_URL port)")
    serve.add_argument("--epochs", type=int, default=None, help="DIET epochs (default 100)")
    serve.set_defaults(run=_rasa_serve)
    args = parser.parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
